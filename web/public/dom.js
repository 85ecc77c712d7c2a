/**
 * A tiny element builder. Text always goes in as text nodes (never innerHTML), so cell values from
 * county files cannot inject markup; the page's CSP forbids inline scripts and styles anyway.
 */

/**
 * h('button', { class: 'primary', on: { click } }, '保存') → <button class="primary">保存</button>.
 * Attributes: `class`, `on` (event listeners), `dataset`, boolean props (`hidden`, `disabled`,
 * `checked`, `open`), `value`; everything else is set with setAttribute. A null/false/undefined
 * attribute or child is skipped; arrays of children are flattened.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'hidden' || k === 'disabled' || k === 'checked' || k === 'open' || k === 'value') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

/** Replaces every child of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let seq = 0;
/** A document-unique id, for label/aria-describedby pairs. */
export function uid(prefix = 'id') {
  seq += 1;
  return `${prefix}-${seq}`;
}

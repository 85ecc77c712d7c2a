import { api } from '../api.js';
import { h, replace, uid } from '../dom.js';
import { ACTION_LABEL, cellText, dateTime, REJECTION_STATUS_LABEL } from '../format.js';

/**
 * A modal <dialog> appended to the body and removed when closed. Esc and the close button close it;
 * focus returns to whatever had it before (the browser does this for showModal()).
 */
function modal(title, { wide = false } = {}) {
  const titleId = uid('dlg-title');
  const body = h('div', { class: 'dialog-body' });
  const close = h('button', { type: 'button', class: 'dialog-close', 'aria-label': '关闭' }, '×');
  const dlg = h(
    'dialog',
    { class: ['dialog', wide ? 'wide' : ''], 'aria-labelledby': titleId },
    h('div', { class: 'dialog-head' }, h('h2', { id: titleId }, title), close),
    body,
  );
  close.addEventListener('click', () => dlg.close());
  dlg.addEventListener('close', () => dlg.remove());
  document.body.append(dlg);
  return { dlg, body };
}

/** Ask before a change that touches many rows. Resolves true when confirmed. */
export function confirmDialog({ title, text, ok = '确认', danger = false }) {
  return new Promise((resolve) => {
    const { dlg, body } = modal(title);
    let answer = false;
    const yes = h('button', { type: 'button', class: danger ? 'danger' : 'primary' }, ok);
    const no = h('button', { type: 'button' }, '取消');
    yes.addEventListener('click', () => {
      answer = true;
      dlg.close();
    });
    no.addEventListener('click', () => dlg.close());
    dlg.addEventListener('close', () => resolve(answer));
    replace(body, h('p', {}, text), h('div', { class: 'form-actions' }, yes, no));
    dlg.showModal();
    yes.focus();
  });
}

/**
 * Discard a rejected row: the reason is mandatory (the API refuses an empty one too). Resolves with
 * the API's answer, or null when the steward closes the dialog.
 */
export function discardDialog(item) {
  return new Promise((resolve) => {
    const { dlg, body } = modal(`作废第 ${item.rowNumber} 行`);
    let result = null;
    const reasonId = uid('discard-reason');
    const errId = uid('discard-error');
    const reason = h('textarea', {
      id: reasonId,
      name: 'reason',
      rows: 3,
      required: true,
      'aria-required': 'true',
      'aria-describedby': errId,
      placeholder: '例如：该处罚决定已撤销，无需归集',
    });
    const error = h('p', { id: errId, class: 'error', role: 'alert', hidden: true });
    const submit = h('button', { type: 'submit', class: 'danger' }, '确认作废');
    const cancel = h('button', { type: 'button' }, '取消');
    cancel.addEventListener('click', () => dlg.close());
    const form = h(
      'form',
      { novalidate: true, class: 'discard-form' },
      h('p', {}, `作废后这一行不再入库，也不再出现在待处理列表中。文件「${item.file}」第 ${item.rowNumber} 行。`),
      h('div', { class: 'field' }, h('label', { for: reasonId }, '作废原因（必填）'), reason),
      error,
      h('div', { class: 'form-actions' }, submit, cancel),
    );
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      error.hidden = true;
      reason.removeAttribute('aria-invalid');
      const text = reason.value.trim();
      if (!text) {
        showError('请填写作废原因：作废必须说明理由，以便日后核查。');
        reason.focus();
        return;
      }
      submit.disabled = true;
      try {
        result = await api(`/api/rejections/${item.id}/discard`, { method: 'POST', json: { reason: text } });
        dlg.close();
      } catch (e) {
        showError(e.message);
        submit.disabled = false;
      }
    });
    reason.addEventListener('input', () => {
      if (reason.value.trim()) {
        error.hidden = true;
        reason.removeAttribute('aria-invalid');
      }
    });
    function showError(text) {
      error.textContent = text;
      error.hidden = false;
      reason.setAttribute('aria-invalid', 'true');
    }
    dlg.addEventListener('close', () => resolve(result));
    replace(body, form);
    dlg.showModal();
    reason.focus();
  });
}

/** A rejection's history: where it came from, its state, and every change (who, when, old → new). */
export async function historyDialog(app, id) {
  const { dlg, body } = modal('处理记录', { wide: true });
  replace(body, h('p', { class: 'muted' }, '正在加载……'));
  dlg.showModal();
  let r;
  try {
    r = await api(`/api/rejections/${id}`);
  } catch (e) {
    replace(body, h('p', { class: 'error', role: 'alert' }, e.message));
    return;
  }
  const history = r.history ?? [];
  replace(
    body,
    h(
      'dl',
      { class: 'facts' },
      fact('来源', `${r.file}${r.sheet ? ` · ${r.sheet}` : ''} 第 ${r.rowNumber} 行`),
      fact('批次', r.batchId),
      fact('目录', app.catalogTitle(r.catalog)),
      fact('区县', r.county ?? '-'),
      fact('状态', REJECTION_STATUS_LABEL[r.status] ?? r.status),
      r.resolvedBy ? fact('处理人', `${r.resolvedBy}（${dateTime(r.resolvedAt)}）`) : null,
      r.reason ? fact('作废原因', r.reason) : null,
      r.fixBatchId
        ? fact('修正批次', h('a', { href: `#/batches/${encodeURIComponent(r.fixBatchId)}` }, r.fixBatchId))
        : null,
    ),
    history.length === 0
      ? h('p', { class: 'empty' }, '这一行还没有被修改过。')
      : h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { class: 'data history' },
            h('caption', {}, `共 ${history.length} 条记录`),
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                h('th', { scope: 'col' }, '时间'),
                h('th', { scope: 'col' }, '操作人'),
                h('th', { scope: 'col' }, '操作'),
                h('th', { scope: 'col' }, '修改内容（原值 → 新值）'),
              ),
            ),
            h(
              'tbody',
              {},
              history.map((a) =>
                h(
                  'tr',
                  {},
                  h('td', { class: 'nowrap' }, dateTime(a.at)),
                  h('td', {}, a.actor),
                  h('td', {}, ACTION_LABEL[a.action] ?? a.action),
                  h('td', {}, changes(a)),
                ),
              ),
            ),
          ),
        ),
  );
  // Links inside the dialog navigate away: close it so the new screen is usable.
  for (const link of body.querySelectorAll('a[href^="#"]')) link.addEventListener('click', () => dlg.close());
}

function fact(term, value) {
  return [h('dt', {}, term), h('dd', {}, value)];
}

/** old_value/new_value hold the changed cells ({header: value}); detail may hold a reason or the fix batch. */
function changes(a) {
  const out = [];
  const oldV = isObject(a.oldValue) ? a.oldValue : {};
  const newV = isObject(a.newValue) ? a.newValue : {};
  const keys = [...new Set([...Object.keys(oldV), ...Object.keys(newV)])];
  if (keys.length && (isObject(a.oldValue) || isObject(a.newValue))) {
    out.push(
      h(
        'ul',
        { class: 'changes' },
        keys.map((k) =>
          h(
            'li',
            {},
            h('span', { class: 'change-col' }, `${k}：`),
            h('del', {}, show(oldV[k])),
            h('span', { 'aria-hidden': 'true' }, ' → '),
            h('span', { class: 'sr-only' }, '改为'),
            h('ins', {}, show(newV[k])),
          ),
        ),
      ),
    );
  } else if (a.oldValue != null || a.newValue != null) {
    out.push(h('p', {}, `${show(a.oldValue)} → ${show(a.newValue)}`));
  }
  const d = isObject(a.detail) ? a.detail : {};
  if (d.reason) out.push(h('p', {}, `原因：${d.reason}`));
  if (d.batchId) out.push(h('p', { class: 'muted' }, `批次：${d.batchId}`));
  if (Array.isArray(d.issues) && d.issues.length)
    out.push(h('p', { class: 'error-text' }, `未通过：${d.issues.map((i) => i.zh ?? i.code).join(' ')}`));
  return out.length ? out : '-';
}

function isObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function show(v) {
  if (v === null || v === undefined || v === '') return '（空）';
  if (typeof v === 'object') return JSON.stringify(v);
  return cellText(v);
}

import { h } from '../dom.js';
import { num } from '../format.js';

/** "第 51–100 条，共 1,234 条" with 上一页 / 下一页 buttons; `go(offset)` moves. */
export function pager({ total, offset, limit, go, label }) {
  const from = total === 0 ? 0 : offset + 1;
  const to = Math.min(offset + limit, total);
  return h(
    'nav',
    { class: 'pager', 'aria-label': label ?? '翻页' },
    h(
      'button',
      { type: 'button', disabled: offset <= 0, on: { click: () => go(Math.max(0, offset - limit)) } },
      '上一页',
    ),
    h('span', { class: 'pager-info' }, total === 0 ? '共 0 条' : `第 ${num(from)}–${num(to)} 条，共 ${num(total)} 条`),
    h('button', { type: 'button', disabled: to >= total, on: { click: () => go(offset + limit) } }, '下一页'),
  );
}

/** Reads a non-negative integer offset from the route's query. */
export function offsetOf(params) {
  const n = Number.parseInt(params.get('offset') ?? '0', 10);
  return Number.isFinite(n) && n > 0 ? n : 0;
}

import { api, query } from '../api.js';
import { h, replace, uid } from '../dom.js';
import { cellText, num, OUTCOMES, REJECTION_STATUS_LABEL, rawText } from '../format.js';
import { confirmDialog, discardDialog, historyDialog } from './dialogs.js';
import { offsetOf, pager } from './pager.js';

const LIMIT = 50;
const STATUSES = ['open', 'fixed', 'discarded', 'all'];
// The annotated workbook's hidden column (pipelines/rejection-id.ts): bookkeeping, not the clerk's data.
const REJECTION_ID_HEADER = '退回编号（系统使用，请勿修改）';

/**
 * Rejected rows, one page at a time from the server, in the file's own columns. Failing cells are red
 * with the message on hover (title) and on focus/click; facets count rows per rule, column and county
 * under the other filters, and clicking one filters. A row can be edited in place and resubmitted,
 * its fix applied to every row with the same wrong value, discarded with a reason, or its history read.
 */
export async function renderRejections(view, app, { batchId, params, isCurrent }) {
  const filters = {
    status: STATUSES.includes(params.get('status')) ? params.get('status') : 'open',
    rule: params.get('rule') ?? '',
    column: params.get('column') ?? '',
    county: params.get('county') ?? '',
  };
  const offset = offsetOf(params);
  const base = batchId ? `#/batches/${encodeURIComponent(batchId)}` : '#/rejections';
  const hashFor = (change) => {
    const next = { ...filters, offset: 0, ...change };
    return `${base}${query({ ...next, status: next.status === 'open' ? '' : next.status, offset: next.offset || '' })}`;
  };
  const apiFilter = () => ({ batch: batchId ?? '', ...filters });

  const [batch, list, facets] = await Promise.all([
    batchId ? api(`/api/batches/${encodeURIComponent(batchId)}`) : null,
    api(`/api/rejections${query({ ...apiFilter(), limit: LIMIT, offset })}`),
    api(`/api/rejections/facets${query(apiFilter())}`),
  ]);
  if (!isCurrent()) return;

  const state = { list, facets, ruleZh: new Map((facets.rules ?? []).map((r) => [r.code, r.zh])) };
  const tableHost = h('div', { class: 'results-table' });
  const facetHost = h('aside', { class: 'facets', 'aria-label': '按规则、列和区县筛选' });
  const countLine = h('p', { class: 'result-count', role: 'status' });
  const batchHost = h('div', { class: 'batch-host' });
  if (batch) replace(batchHost, batchLine(batch, app));

  /** Re-reads the current page and the facets (after a fix or discard) without leaving the screen. */
  async function reload(message) {
    tableHost.setAttribute('aria-busy', 'true');
    try {
      const [l, f, b] = await Promise.all([
        api(`/api/rejections${query({ ...apiFilter(), limit: LIMIT, offset })}`),
        api(`/api/rejections/facets${query(apiFilter())}`),
        batchId ? api(`/api/batches/${encodeURIComponent(batchId)}`) : null,
      ]);
      if (b) replace(batchHost, batchLine(b, app)); // its open count changed
      // A page emptied by the change: step back a page.
      if (l.items.length === 0 && offset > 0) {
        app.go(hashFor({ offset: Math.max(0, offset - LIMIT) }));
        return;
      }
      state.list = l;
      state.facets = f;
      for (const r of f.rules ?? []) state.ruleZh.set(r.code, r.zh);
      draw();
      if (message) countLine.textContent = `${message} ${countText()}`;
    } catch (e) {
      app.toast(e.message, 'error');
    } finally {
      tableHost.removeAttribute('aria-busy');
    }
  }

  function countText() {
    return `共 ${num(state.list.total)} 条${REJECTION_STATUS_LABEL[filters.status] === '全部' ? '' : REJECTION_STATUS_LABEL[filters.status]}记录。`;
  }

  function draw() {
    replace(facetHost, facetPanel());
    replace(tableHost, rejectionsTable(state.list.items), pagerEl());
    countLine.textContent = countText();
  }

  function pagerEl() {
    return pager({
      total: state.list.total,
      offset,
      limit: LIMIT,
      go: (o) => app.go(hashFor({ offset: o })),
      label: '退回记录翻页',
    });
  }

  // ---- facets ----------------------------------------------------------------------------------

  function facetPanel() {
    const f = state.facets;
    const groups = [
      facetGroup(
        '按规则',
        'rule',
        (f.rules ?? []).map((r) => ({ value: r.code, label: r.zh || r.code, hint: r.code, count: r.count })),
      ),
      facetGroup(
        '按列',
        'column',
        (f.columns ?? []).map((c) => ({ value: c.field, label: c.title || c.field, hint: c.field, count: c.count })),
      ),
    ];
    if (app.isSteward() || (f.counties ?? []).length > 1) {
      groups.push(
        facetGroup(
          '按区县',
          'county',
          (f.counties ?? []).map((c) => ({
            value: c.county,
            label: c.name ? `${c.name}（${c.county}）` : c.county,
            count: c.count,
          })),
        ),
      );
    }
    const active = ['rule', 'column', 'county'].filter((k) => filters[k]);
    return [
      h('h2', { class: 'facets-title' }, '筛选'),
      active.length
        ? h(
            'button',
            {
              type: 'button',
              class: 'link clear-filters',
              on: { click: () => app.go(hashFor({ rule: '', column: '', county: '' })) },
            },
            '清除全部筛选',
          )
        : null,
      groups,
    ];
  }

  function facetGroup(title, key, items) {
    const headingId = uid('facet');
    return h(
      'section',
      { class: 'facet-group', 'aria-labelledby': headingId, dataset: { facet: key } },
      h('h3', { id: headingId }, title),
      items.length === 0
        ? h('p', { class: 'muted small' }, '无')
        : h(
            'ul',
            {},
            items.map((it) => {
              const on = filters[key] === it.value;
              return h(
                'li',
                {},
                h(
                  'button',
                  {
                    type: 'button',
                    class: ['facet', on ? 'active' : ''],
                    'aria-pressed': on ? 'true' : 'false',
                    title: it.hint ?? null,
                    dataset: { value: it.value },
                    on: { click: () => app.go(hashFor({ [key]: on ? '' : it.value })) },
                  },
                  h('span', { class: 'facet-label' }, it.label),
                  h('span', { class: 'facet-count' }, num(it.count)),
                ),
              );
            }),
          ),
    );
  }

  // ---- table -------------------------------------------------------------------------------------

  function headersOf(items) {
    const out = [];
    const seen = new Set([REJECTION_ID_HEADER]);
    for (const it of items) {
      for (const hd of it.headers ?? Object.keys(it.cells ?? {})) {
        if (!seen.has(hd)) {
          seen.add(hd);
          out.push(hd);
        }
      }
    }
    return out;
  }

  function rejectionsTable(items) {
    if (items.length === 0) {
      return h('p', { class: 'empty' }, filters.status === 'open' ? '没有待处理的退回记录。' : '没有符合条件的记录。');
    }
    const headers = headersOf(items);
    return h(
      'div',
      { class: 'table-wrap tall' },
      h(
        'table',
        { class: 'data rejections', dataset: { headers: headers.length } },
        h('caption', { class: 'sr-only' }, '退回记录：红色单元格未通过校验，聚焦或点击可查看原因'),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col', class: 'rownum' }, '行号'),
            h('th', { scope: 'col', class: 'actions' }, '操作'),
            h('th', { scope: 'col' }, '状态'),
            batchId ? null : h('th', { scope: 'col' }, '文件'),
            h('th', { scope: 'col', class: 'issues-col' }, '问题'),
            headers.map((hd) => h('th', { scope: 'col', class: 'cell-col' }, hd)),
          ),
        ),
        h(
          'tbody',
          {},
          items.map((it) => viewRow(it, headers)),
        ),
      ),
    );
  }

  function issuesByHeader(item) {
    const map = new Map();
    for (const i of item.issues ?? []) {
      if (!i.header) continue;
      if (!map.has(i.header)) map.set(i.header, []);
      map.get(i.header).push(i);
    }
    return map;
  }

  function rowLabel(item) {
    return `第 ${item.rowNumber} 行`;
  }

  function viewRow(item, headers) {
    const byHeader = issuesByHeader(item);
    const tr = h('tr', { dataset: { id: item.id, row: item.rowNumber, status: item.status } });
    const canEdit = item.status === 'open';
    replace(
      tr,
      h('th', { scope: 'row', class: 'rownum' }, rowLabel(item)),
      h('td', { class: 'actions' }, rowActions(item, tr, headers)),
      h(
        'td',
        {},
        h('span', { class: `badge rstatus-${item.status}` }, REJECTION_STATUS_LABEL[item.status] ?? item.status),
      ),
      batchId ? null : fileCell(item),
      h('td', { class: 'issues-col' }, issueList(item, headers)),
      headers.map((hd) => {
        const cellIssues = byHeader.get(hd) ?? [];
        const text = cellText(item.cells?.[hd]);
        if (cellIssues.length === 0) {
          return h(
            'td',
            {
              class: 'cell',
              title: text.length > 20 ? text : null,
              on: canEdit ? { dblclick: () => startEdit(item, tr, headers, hd) } : null,
            },
            h('span', { class: 'cell-value' }, text),
          );
        }
        const msgId = uid('msg');
        const bad = cellIssues.some((i) => i.severity !== 'warning');
        const messages = cellIssues.map((i) => i.zh).join('\n');
        return h(
          'td',
          {
            class: ['cell', bad ? 'bad' : 'warn'],
            tabindex: 0,
            title: messages,
            'aria-describedby': msgId,
            dataset: { header: hd },
            on: {
              dblclick: canEdit ? () => startEdit(item, tr, headers, hd) : null,
              keydown: (ev) => {
                if (ev.key === 'Enter' && canEdit) {
                  ev.preventDefault();
                  startEdit(item, tr, headers, hd);
                }
              },
            },
          },
          h('span', { class: 'cell-value' }, text || '（空）'),
          h('span', { id: msgId, class: 'cell-msg', role: 'note' }, messages),
        );
      }),
    );
    return tr;
  }

  function fileCell(item) {
    return h(
      'td',
      { class: 'file-col' },
      h('a', { href: `#/batches/${encodeURIComponent(item.batchId)}` }, item.file),
      item.sheet ? ` · ${item.sheet}` : null,
    );
  }

  function issueList(item, headers) {
    const shown = new Set(headers);
    const errors = (item.issues ?? []).filter((i) => i.severity !== 'warning');
    const list = errors.length ? errors : (item.issues ?? []);
    return h(
      'ul',
      { class: 'issue-list' },
      list.map((i) =>
        h(
          'li',
          { class: i.severity === 'warning' ? 'warning' : 'error', title: i.zh },
          // A cell's own message is in its tooltip and a click away; a row-level one (no column) in full here.
          i.header && shown.has(i.header)
            ? h(
                'button',
                {
                  type: 'button',
                  class: 'link issue-link',
                  on: { click: (ev) => goToCell(ev.currentTarget, i.header) },
                },
                `${i.header}：${state.ruleZh.get(i.code) ?? i.code}`,
              )
            : i.zh,
        ),
      ),
    );
  }

  /** Scrolls a wide row to the failing cell (or its input while editing) and focuses it: its message shows. */
  function goToCell(from, header) {
    const target = from.closest('tr')?.querySelector(`[data-header="${CSS.escape(header)}"]`);
    target?.scrollIntoView({ block: 'nearest', inline: 'center' });
    target?.focus({ preventScroll: true });
  }

  function rowActions(item, tr, headers) {
    const out = [];
    if (item.status === 'open') {
      out.push(
        h(
          'button',
          { type: 'button', class: 'small primary', on: { click: () => startEdit(item, tr, headers) } },
          '修改',
        ),
      );
    }
    out.push(h('button', { type: 'button', class: 'small', on: { click: () => historyDialog(app, item.id) } }, '历史'));
    // The API refuses clerks anyway; the button is not shown to them.
    if (item.status === 'open' && app.isSteward()) {
      out.push(
        h(
          'button',
          {
            type: 'button',
            class: 'small danger-outline',
            on: {
              click: async () => {
                const res = await discardDialog(item);
                if (res) await reload(`已作废${rowLabel(item)}。`);
              },
            },
          },
          '作废',
        ),
      );
    }
    return h('div', { class: 'action-group', role: 'group', 'aria-label': `${rowLabel(item)}的操作` }, out);
  }

  // ---- inline edit ------------------------------------------------------------------------------

  function startEdit(item, tr, headers, focusHeader) {
    const editing = editRow(item, headers, focusHeader);
    tr.replaceWith(editing.tr);
    editing.focus();
  }

  function editRow(item, headers, focusHeader) {
    const byHeader = issuesByHeader(item);
    const inputs = new Map();
    const message = h('p', { class: 'row-msg', role: 'alert', hidden: true });
    const tr = h('tr', { class: 'editing', dataset: { id: item.id, row: item.rowNumber, status: item.status } });

    const save = h('button', { type: 'button', class: 'small primary save' }, '保存并重新提交');
    const cancel = h('button', { type: 'button', class: 'small' }, '取消');
    const many = h(
      'button',
      { type: 'button', class: 'small apply-many', disabled: true, title: '只修改了一个单元格时可用' },
      '把这个修改应用到同值的所有行',
    );
    save.addEventListener('click', () => submitOne());
    cancel.addEventListener('click', () => tr.replaceWith(viewRow(item, headers)));
    many.addEventListener('click', () => submitMany());

    const cells = headers.map((hd) => {
      const issues = byHeader.get(hd) ?? [];
      const bad = issues.some((i) => i.severity !== 'warning');
      const initial = cellText(item.cells?.[hd]);
      const msgId = issues.length ? uid('msg') : null;
      const input = h('input', {
        type: 'text',
        value: initial,
        class: bad ? 'bad' : '',
        'aria-label': `${hd}（${rowLabel(item)}）`,
        'aria-invalid': bad ? 'true' : null,
        'aria-describedby': msgId,
        dataset: { header: hd },
        size: Math.min(Math.max(initial.length, 6), 28),
      });
      input.addEventListener('input', updateMany);
      input.addEventListener('keydown', (ev) => {
        if (ev.key === 'Enter') {
          ev.preventDefault();
          submitOne();
        } else if (ev.key === 'Escape') {
          ev.preventDefault();
          cancel.click();
        }
      });
      inputs.set(hd, { input, initial });
      return h(
        'td',
        { class: ['cell', 'edit', bad ? 'bad' : issues.length ? 'warn' : ''] },
        input,
        issues.length ? h('span', { id: msgId, class: 'cell-msg always' }, issues.map((i) => i.zh).join('\n')) : null,
      );
    });

    replace(
      tr,
      h('th', { scope: 'row', class: 'rownum' }, rowLabel(item)),
      h('td', { class: 'actions' }, h('div', { class: 'action-group vertical' }, save, many, cancel), message),
      h('td', {}, h('span', { class: `badge rstatus-${item.status}` }, '修改中')),
      batchId ? null : fileCell(item),
      h('td', { class: 'issues-col' }, issueList(item, headers)),
      cells,
    );

    function edits() {
      const out = {};
      for (const [hd, { input, initial }] of inputs) if (input.value !== initial) out[hd] = input.value;
      return out;
    }

    function updateMany() {
      many.disabled = Object.keys(edits()).length !== 1;
    }

    function busy(on) {
      save.disabled = on;
      cancel.disabled = on;
      many.disabled = on || Object.keys(edits()).length !== 1;
      tr.setAttribute('aria-busy', on ? 'true' : 'false');
    }

    function say(text, kind = 'error') {
      message.textContent = text;
      message.className = `row-msg ${kind}`;
      message.hidden = false;
    }

    async function submitOne() {
      const e = edits();
      if (Object.keys(e).length === 0) {
        say('还没有修改任何单元格。请先改正标红的单元格，再保存。');
        return;
      }
      busy(true);
      try {
        await api(`/api/rejections/${item.id}/fix`, { method: 'POST', json: { version: item.version, edits: e } });
        await reload(`${rowLabel(item)}已修正并入库。`);
        app.toast(`${rowLabel(item)}已修正并入库。`, 'ok');
      } catch (err) {
        busy(false);
        if (err.status === 422 && err.body?.rejection) {
          // Still invalid: the row stays open with the new reasons and the clerk's edits kept.
          const next = editRow(err.body.rejection, headers);
          tr.replaceWith(next.tr);
          next.say(
            `仍未通过校验：${(err.body.rejection.issues ?? [])
              .filter((i) => i.severity !== 'warning')
              .map((i) => i.zh)
              .join(' ')}`,
          );
          next.focus();
          return;
        }
        if (err.status === 409) {
          say(`${err.message} 页面已刷新。`);
          await reload();
          return;
        }
        say(err.message);
      }
    }

    async function submitMany() {
      const e = edits();
      const [hd] = Object.keys(e);
      if (!hd) return;
      const from = rawText(item.cells?.[hd]);
      const ok = await confirmDialog({
        title: '应用到同值的所有行',
        text: `把本批次中「${hd}」为「${cellText(item.cells?.[hd]) || '（空）'}」的所有待处理行都改为「${e[hd] || '（空）'}」，并逐行重新校验、入库？未通过校验的行会保留并显示新的原因。`,
        ok: '全部修改并重新提交',
      });
      if (!ok) return;
      busy(true);
      try {
        const res = await api('/api/rejections/fix-many', {
          method: 'POST',
          json: { batch: item.batchId, match: { header: hd, value: from }, edits: e },
        });
        const text =
          res.stillOpen > 0
            ? `已修正并入库 ${num(res.fixed)} 行；${num(res.stillOpen)} 行仍未通过校验，请逐行查看。`
            : `已修正并入库 ${num(res.fixed)} 行。`;
        await reload(text);
        app.toast(text, res.stillOpen > 0 ? 'info' : 'ok');
      } catch (err) {
        busy(false);
        say(err.message);
      }
    }

    return {
      tr,
      say,
      focus() {
        const target =
          (focusHeader && inputs.get(focusHeader)?.input) || tr.querySelector('input.bad') || tr.querySelector('input');
        target?.focus();
        target?.select?.();
      },
    };
  }

  // ---- page ----------------------------------------------------------------------------------------

  const statusTabs = h(
    'div',
    { class: 'tabs', role: 'group', 'aria-label': '按处理状态' },
    STATUSES.map((s) =>
      h(
        'button',
        {
          type: 'button',
          class: ['tab', filters.status === s ? 'active' : ''],
          'aria-pressed': filters.status === s ? 'true' : 'false',
          dataset: { status: s },
          on: { click: () => app.go(hashFor({ status: s })) },
        },
        REJECTION_STATUS_LABEL[s],
      ),
    ),
  );

  const title = batch ? `${batch.file}${batch.sheet ? ` · ${batch.sheet}` : ''}` : null;
  replace(
    view,
    h(
      'div',
      { class: 'page-head' },
      h(
        'div',
        {},
        h('h1', {}, batch ? '退回记录：' : '退回记录', title ? h('span', { class: 'h1-file' }, title) : null),
      ),
      h(
        'div',
        { class: 'head-actions' },
        batch
          ? h(
              'a',
              {
                class: 'button',
                id: 'download-workbook',
                href: `/api/batches/${encodeURIComponent(batch.id)}/rejections.xlsx`,
                download: '',
              },
              '下载标注工作簿',
            )
          : null,
        h('a', { class: 'button', href: '#/upload' }, '上传修改后的文件'),
        h('a', { class: 'link', href: '#/batches' }, '返回批次列表'),
      ),
    ),
    batch ? batchHost : h('p', { class: 'muted' }, '所有批次中被退回的数据行。'),
    h(
      'p',
      { class: 'help' },
      '红色单元格未通过校验：鼠标悬停、聚焦或点击可查看原因。点“修改”或双击单元格直接改正，保存后立即重新校验并入库。',
    ),
    statusTabs,
    countLine,
    h('div', { class: 'review-layout' }, facetHost, tableHost),
  );
  draw();
}

function batchLine(b, app) {
  return h(
    'p',
    { class: 'batch-line' },
    h('span', {}, `${app.catalogTitle(b.catalog)} · 区县 ${b.county ?? '-'} · 批次 ${b.id}`),
    h(
      'span',
      { class: 'counts' },
      `共 ${num(b.total)} 行：`,
      OUTCOMES.map(([k, label]) => h('span', { class: `outcome outcome-${k}` }, `${label} ${num(b[k])}`)),
      h('span', { class: 'outcome' }, `待处理 ${num(b.openRejections)}`),
    ),
  );
}

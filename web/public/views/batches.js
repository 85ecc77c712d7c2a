import { api, query } from '../api.js';
import { h, replace } from '../dom.js';
import { BATCH_STATUS_LABEL, dateTime, KIND_LABEL, num, OUTCOMES, stageTimings } from '../format.js';
import { offsetOf, pager } from './pager.js';
import { commitStaged } from './upload.js';

const LIMIT = 50;

/** The ledger: every batch with its five outcome counts, warnings, stage timings and open rejections. */
export async function renderBatches(view, app, { params, isCurrent }) {
  const offset = offsetOf(params);
  const county = params.get('county') ?? '';
  const res = await api(`/api/batches${query({ limit: LIMIT, offset, county })}`);
  if (!isCurrent()) return;

  const toHash = (o, c = county) => `#/batches${query({ offset: o || '', county: c })}`;
  const table = batchesTable(res.items, app);
  const filter = app.isSteward()
    ? h(
        'form',
        {
          class: 'inline-filter',
          role: 'search',
          on: {
            submit: (ev) => {
              ev.preventDefault();
              app.go(toHash(0, ev.currentTarget.elements.county.value.trim()));
            },
          },
        },
        h('label', { for: 'batch-county' }, '区县代码'),
        h('input', {
          id: 'batch-county',
          name: 'county',
          value: county,
          inputmode: 'numeric',
          pattern: '[0-9]{6}',
          placeholder: '如 230184',
          size: 10,
        }),
        h('button', { type: 'submit' }, '筛选'),
        county
          ? h('button', { type: 'button', class: 'link', on: { click: () => app.go(toHash(0, '')) } }, '清除')
          : null,
      )
    : null;

  replace(
    view,
    h(
      'div',
      { class: 'page-head' },
      h('h1', {}, '导入批次'),
      h('a', { class: 'button primary', href: '#/upload' }, '上传文件'),
    ),
    h(
      'p',
      { class: 'muted' },
      app.user.role === 'clerk'
        ? `本县（${app.user.county}）的导入批次。每一行数据的去向：新增、更新、未变、重复或退回，五项相加等于总行数。`
        : '每一行数据的去向：新增、更新、未变、重复或退回，五项相加等于总行数。',
    ),
    filter,
    res.items.length === 0 ? h('p', { class: 'empty' }, '还没有导入批次。可以先上传一个文件。') : table,
    pager({ total: res.total, offset, limit: LIMIT, go: (o) => app.go(toHash(o)), label: '批次翻页' }),
  );

  function batchesTable(items) {
    return h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'data batches' },
        h('caption', { class: 'sr-only' }, '导入批次列表'),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col' }, '文件'),
            h('th', { scope: 'col' }, '目录'),
            h('th', { scope: 'col' }, '区县'),
            h('th', { scope: 'col' }, '类型'),
            h('th', { scope: 'col' }, '状态'),
            h('th', { scope: 'col', class: 'num' }, '总行数'),
            OUTCOMES.map(([, label]) => h('th', { scope: 'col', class: 'num' }, label)),
            h('th', { scope: 'col', class: 'num' }, '警告'),
            h('th', { scope: 'col', class: 'num' }, '待处理退回'),
            h('th', { scope: 'col' }, '各环节用时'),
            h('th', { scope: 'col' }, '开始时间'),
            h('th', { scope: 'col' }, '操作人'),
            h('th', { scope: 'col' }, '操作'),
          ),
        ),
        h('tbody', {}, items.map(batchRow)),
      ),
    );
  }

  function batchRow(b) {
    const link = `#/batches/${encodeURIComponent(b.id)}`;
    return h(
      'tr',
      { dataset: { batchId: b.id } },
      h(
        'th',
        { scope: 'row', class: 'file' },
        h('a', { href: link }, b.file),
        b.sheet ? h('span', { class: 'sheet' }, ` · ${b.sheet}`) : null,
        h('div', { class: 'batch-id' }, b.id),
      ),
      h('td', { class: 'short' }, app.catalogTitle(b.catalog)),
      h('td', { class: 'short' }, b.county ?? '-'),
      h('td', { class: 'short' }, KIND_LABEL[b.kind] ?? b.kind ?? '-'),
      h('td', {}, h('span', { class: `badge status-${b.status}` }, BATCH_STATUS_LABEL[b.status] ?? b.status)),
      h('td', { class: 'num' }, num(b.total)),
      OUTCOMES.map(([k]) => h('td', { class: ['num', `outcome-${k}`, b[k] ? '' : 'zero'] }, num(b[k]))),
      h('td', { class: ['num', b.warnings ? 'has-warnings' : 'zero'] }, num(b.warnings)),
      h(
        'td',
        { class: 'num' },
        b.openRejections
          ? h('a', { href: link, class: 'open-count' }, num(b.openRejections))
          : h('span', { class: 'zero' }, '0'),
      ),
      h('td', { class: 'timings' }, stageTimings(b.stageMs) || '-'),
      h('td', { class: 'nowrap' }, dateTime(b.startedAt)),
      h('td', { class: 'short' }, b.createdBy ?? '-'),
      h('td', { class: 'actions' }, batchActions(b)),
    );
  }

  function batchActions(b) {
    if (b.status === 'staged') {
      const commit = h('button', { type: 'button', class: 'primary small' }, '确认入库');
      const cancel = h('button', { type: 'button', class: 'small' }, '取消');
      commit.addEventListener('click', () => stagedAction(b, 'commit', commit, cancel));
      cancel.addEventListener('click', () => stagedAction(b, 'cancel', commit, cancel));
      return [commit, cancel];
    }
    if (b.openRejections > 0) {
      return h(
        'a',
        { class: 'button small', href: `/api/batches/${encodeURIComponent(b.id)}/rejections.xlsx`, download: '' },
        '下载标注工作簿',
      );
    }
    return null;
  }

  async function stagedAction(b, action, ...buttons) {
    for (const x of buttons) x.disabled = true;
    try {
      await commitStaged(b.id, action);
      app.toast(
        action === 'commit' ? `「${b.file}」已确认入库。` : `已取消「${b.file}」的上传，未写入任何数据。`,
        'ok',
      );
      app.go(location.hash);
    } catch (e) {
      app.toast(e.message, 'error');
      for (const x of buttons) x.disabled = false;
    }
  }
}

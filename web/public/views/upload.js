import { api } from '../api.js';
import { h, replace } from '../dom.js';
import { num, OUTCOMES } from '../format.js';

/** POST /api/uploads/:batchId/commit | cancel for a staged (checked, not yet loaded) batch. */
export function commitStaged(batchId, action) {
  return api(`/api/uploads/${encodeURIComponent(batchId)}/${action}`, { method: 'POST' });
}

/**
 * Upload a file → the server checks every row and stages it (a dry run: nothing loaded yet) → the
 * clerk reads "47 行通过，3 行需要修改：…" and then commits (no second parse) or cancels.
 */
export async function renderUpload(view, app, { isCurrent }) {
  if (!isCurrent()) return;
  const fileInput = h('input', {
    id: 'upload-file',
    name: 'file',
    type: 'file',
    accept: '.xlsx,.csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,text/csv',
    required: true,
    'aria-describedby': 'upload-file-help',
    'data-autofocus': true,
  });
  const catalog = h(
    'select',
    { id: 'upload-catalog', name: 'catalog' },
    h('option', { value: '' }, '自动识别（按表头）'),
    [...app.catalogs].map(([id, title]) => h('option', { value: id }, `${title}（${id}）`)),
  );
  const county =
    app.user.role === 'clerk'
      ? null
      : h('input', { id: 'upload-county', name: 'county', inputmode: 'numeric', pattern: '[0-9]{6}', size: 10 });
  const sheet = h('input', { id: 'upload-sheet', name: 'sheet', size: 16 });
  const headerRow = h('input', { id: 'upload-header-row', name: 'headerRow', type: 'number', min: 1, size: 6 });
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'primary' }, '上传并检查');
  const result = h('div', { id: 'upload-result', class: 'upload-result', 'aria-live': 'polite' });

  const form = h(
    'form',
    { class: 'upload-form card', novalidate: true, on: { submit: onSubmit } },
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'upload-file' }, '选择文件'),
      fileInput,
      h(
        'p',
        { id: 'upload-file-help', class: 'help' },
        'Excel（.xlsx）或 CSV 文件。系统先逐行检查，不写入数据；您确认后才入库。',
        '下载的标注工作簿修改后可直接上传：带有退回编号的行会更新原来的退回记录。',
      ),
    ),
    h(
      'details',
      { class: 'advanced' },
      h('summary', {}, '更多选项'),
      h('div', { class: 'field' }, h('label', { for: 'upload-catalog' }, '信息目录'), catalog),
      county
        ? h(
            'div',
            { class: 'field' },
            h('label', { for: 'upload-county' }, '区县代码'),
            county,
            h('p', { class: 'help' }, '不填时按数据来源单位的统一社会信用代码识别。'),
          )
        : h('p', { class: 'help' }, `数据将计入本县（${app.user.county}）。`),
      h('div', { class: 'field' }, h('label', { for: 'upload-sheet' }, '工作表名称'), sheet),
      h('div', { class: 'field' }, h('label', { for: 'upload-header-row' }, '表头所在行'), headerRow),
    ),
    error,
    h('div', { class: 'form-actions' }, submit),
  );

  async function onSubmit(ev) {
    ev.preventDefault();
    error.hidden = true;
    const file = fileInput.files?.[0];
    if (!file) {
      showError('请先选择要上传的文件。');
      fileInput.focus();
      return;
    }
    // Text fields first: the server reads the multipart stream in order and the file part is streamed.
    const fd = new FormData();
    if (catalog.value) fd.append('catalog', catalog.value);
    if (county?.value.trim()) fd.append('county', county.value.trim());
    if (sheet.value.trim()) fd.append('sheet', sheet.value.trim());
    if (headerRow.value) fd.append('headerRow', headerRow.value);
    fd.append('file', file, file.name);
    submit.disabled = true;
    submit.textContent = '正在上传并检查……';
    replace(result, h('p', { class: 'muted' }, `正在检查「${file.name}」的每一行……`));
    try {
      const res = await api('/api/uploads', { method: 'POST', form: fd });
      form.hidden = true;
      showDryRun(res);
    } catch (e) {
      result.replaceChildren();
      showError(e.message);
    } finally {
      submit.disabled = false;
      submit.textContent = '上传并检查';
    }
  }

  function showError(text) {
    error.textContent = text;
    error.hidden = false;
  }

  function showDryRun(res) {
    const batches = res.batches ?? [];
    const sample = res.sample ?? [];
    const status = h('p', { class: 'upload-status', role: 'status' });
    const commit = h('button', { type: 'button', class: 'primary', id: 'upload-commit' }, '确认入库');
    const cancel = h('button', { type: 'button', id: 'upload-cancel' }, '取消');
    const again = h('button', { type: 'button', class: 'link', hidden: true }, '再上传一个文件');
    again.addEventListener('click', () => app.go('#/upload'));
    commit.addEventListener('click', () => finish('commit'));
    cancel.addEventListener('click', () => finish('cancel'));
    const sections = batches.map((b) =>
      dryRunSection(b, batches.length > 1 ? sample.filter((s) => !s.batchId || s.batchId === b.batchId) : sample),
    );

    replace(
      result,
      h('h2', {}, `检查结果：${res.file ?? ''}`),
      batches.length === 0 ? h('p', { class: 'empty' }, '文件中没有可导入的数据。') : sections,
      skippedNote(res.skipped),
      status,
      h('div', { class: 'form-actions' }, batches.length ? [commit, cancel] : null, again),
    );
    commit.focus();

    async function finish(action) {
      commit.disabled = true;
      cancel.disabled = true;
      status.className = 'upload-status';
      status.textContent = action === 'commit' ? '正在入库……' : '正在取消……';
      const done = [];
      try {
        for (const b of batches) done.push({ b, summary: await commitStaged(b.batchId, action) });
      } catch (e) {
        status.className = 'upload-status error';
        status.textContent = e.message;
        commit.disabled = false;
        cancel.disabled = false;
        return;
      }
      commit.hidden = true;
      cancel.hidden = true;
      again.hidden = false;
      if (action === 'cancel') {
        status.textContent = '已取消本次上传，没有写入任何数据。';
        return;
      }
      replace(
        status,
        '已入库。',
        done.map(({ b, summary }) => committedLine(b, summary ?? {})),
      );
      status.classList.add('ok');
    }
  }

  function committedLine(b, s) {
    const counts = OUTCOMES.map(([k, label]) => `${label} ${num(s[k] ?? b[k] ?? 0)}`).join('，');
    const rejected = s.rejected ?? b.rejected ?? 0;
    const id = s.batchId ?? s.id ?? b.batchId;
    return h(
      'span',
      { class: 'committed' },
      `${b.sheet ? `工作表「${b.sheet}」：` : ''}${counts}。`,
      rejected > 0
        ? h(
            'a',
            { href: `#/batches/${encodeURIComponent(id)}`, class: 'go-rejections' },
            `查看并修改 ${num(rejected)} 行退回数据`,
          )
        : null,
    );
  }

  function dryRunSection(b, sample) {
    const good = (b.total ?? 0) - (b.rejected ?? 0);
    const heading = [
      b.sheet ? `工作表「${b.sheet}」` : null,
      app.catalogTitle(b.catalog),
      b.county ? `区县 ${b.county}` : null,
    ]
      .filter(Boolean)
      .join(' · ');
    const summary =
      b.rejected > 0
        ? `${num(good)} 行通过，${num(b.rejected)} 行需要修改：`
        : b.total > 0
          ? `全部 ${num(b.total)} 行通过。`
          : '没有数据行。';
    const shown = sample.slice(0, 20);
    return h(
      'section',
      { class: 'card dry-run', dataset: { batchId: b.batchId } },
      h('h3', {}, heading),
      h('p', { class: ['dry-run-summary', b.rejected > 0 ? 'has-rejections' : 'all-good'] }, summary),
      b.rejected > 0
        ? h(
            'ul',
            { class: 'sample' },
            shown.map((r) => h('li', {}, h('strong', {}, `第 ${r.rowNumber} 行：`), issueText(r.issues ?? []))),
            b.rejected > shown.length
              ? h(
                  'li',
                  { class: 'muted' },
                  `……另有 ${num(b.rejected - shown.length)} 行，入库后可在退回记录中逐行查看和修改。`,
                )
              : null,
          )
        : null,
      h(
        'p',
        { class: 'predicted' },
        '入库后预计：',
        OUTCOMES.map(([k, label]) => h('span', { class: `outcome outcome-${k}` }, `${label} ${num(b[k] ?? 0)}`)),
        b.warnings ? h('span', { class: 'outcome has-warnings' }, `警告 ${num(b.warnings)}`) : null,
      ),
    );
  }

  replace(view, h('div', { class: 'page-head' }, h('h1', {}, '上传文件')), form, result);
}

/** A row's errors as one line (each message already names its column and says how to fix it). */
export function issueText(issues) {
  const errors = issues.filter((i) => i.severity !== 'warning');
  const list = errors.length ? errors : issues;
  return list.map((i) => i.zh ?? i.message ?? i.code).join(' ');
}

function skippedNote(skipped) {
  if (!Array.isArray(skipped) || skipped.length === 0) return null;
  return h(
    'p',
    { class: 'muted' },
    '已跳过：',
    skipped
      .map((s) =>
        typeof s === 'string' ? s : [s.sheet ?? s.name, s.zh ?? s.reason ?? s.message].filter(Boolean).join('：'),
      )
      .join('；'),
  );
}

/** Chinese labels and number/date formatting shared by the views. */

export const ROLE_LABEL = { admin: '系统管理员', steward: '数据管理员', clerk: '区县填报员' };

export const KIND_LABEL = { file: '文件导入', sync: '数据同步', fix: '复核修正', upload: '网页上传' };

export const BATCH_STATUS_LABEL = {
  running: '进行中',
  staged: '待确认',
  done: '已完成',
  failed: '失败',
  cancelled: '已取消',
  queued: '排队中',
};

export const REJECTION_STATUS_LABEL = { open: '待处理', fixed: '已修正', discarded: '已作废', all: '全部' };

export const ACTION_LABEL = {
  fix: '修正并入库',
  'fix-failed': '修正未通过',
  discard: '作废',
  edit: '修改',
  resolve: '通过文件修正',
  resubmit: '重新提交',
  create: '退回',
  commit: '确认入库',
  cancel: '取消上传',
};

export const OUTCOMES = [
  ['inserted', '新增'],
  ['updated', '更新'],
  ['unchanged', '未变'],
  ['duplicate', '重复'],
  ['rejected', '退回'],
];

// In pipeline order: the timings read left to right as the rows went through.
const STAGE_LABEL = {
  read: '读取',
  clean: '清洗',
  normalize: '规范化',
  validate: '校验',
  key: '生成主键',
  encode: '编码',
  stage: '暂存',
  reject: '保存退回',
  predict: '预判结果',
  merge: '合并入库',
};
const STAGE_ORDER = Object.keys(STAGE_LABEL);

/** Per-stage timings as "读取 12 ms · 清洗 3 ms …"; merge sub-steps (merge_*) are folded into 合并入库. */
export function stageTimings(stageMs) {
  const rank = (k) => (STAGE_ORDER.includes(k) ? STAGE_ORDER.indexOf(k) : STAGE_ORDER.length);
  return Object.entries(stageMs ?? {})
    .filter(([k]) => !k.startsWith('merge_'))
    .sort(([a], [b]) => rank(a) - rank(b))
    .map(([k, v]) => `${STAGE_LABEL[k] ?? k} ${formatMs(v)}`)
    .join(' · ');
}

export function formatMs(ms) {
  const n = Number(ms);
  if (!Number.isFinite(n)) return '-';
  if (n >= 10_000) return `${(n / 1000).toFixed(1)} s`;
  if (n >= 100) return `${Math.round(n)} ms`;
  return `${n.toFixed(n < 10 ? 1 : 0)} ms`;
}

const NUM = new Intl.NumberFormat('zh-CN');
export function num(n) {
  return n === null || n === undefined ? '-' : NUM.format(Number(n));
}

// Records are about 黑龙江 counties: show times in Beijing time whatever the browser's zone.
const DATE_TIME = new Intl.DateTimeFormat('zh-CN', {
  timeZone: 'Asia/Shanghai',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
});

export function dateTime(v) {
  if (!v) return '-';
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? String(v) : DATE_TIME.format(d);
}

const ISO_MIDNIGHT = /^(\d{4}-\d{2}-\d{2})T00:00:00(?:\.000)?Z$/;

/**
 * A cell as the clerk should read it: a date cell (sent as an ISO timestamp at midnight) shows as
 * YYYY-MM-DD, null as empty, everything else as its text.
 */
export function cellText(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') {
    const m = ISO_MIDNIGHT.exec(v);
    return m ? m[1] : v;
  }
  return String(v);
}

/** The cell as the server stored it, as text: what fix-many's `match.value` compares against. */
export function rawText(v) {
  if (v === null || v === undefined) return '';
  return typeof v === 'string' ? v : String(v);
}

/**
 * The annotated workbook (issue 4): a county's rejected rows given back in its own column layout, each
 * bad cell filled red with a note saying what is wrong and how to fix it, a hidden column holding the
 * rejection id (so a fixed file sent back resolves those rejections), and a 说明 sheet.
 *
 * Streamed: rows are read from the warehouse a page at a time (keyset on row number) and written with
 * exceljs's streaming WorkbookWriter without shared strings, so memory stays flat however many rows.
 * Personal ID numbers are masked as everywhere else (review/view.ts maskedContent: the shared masking of
 * src/warehouse/rejections.ts plus every cell of a personal column).
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import ExcelJS from 'exceljs';
import { DATE_FORMAT, HEADER_FILL, isTextFormatted } from '../connectors/xlsx/write-template.js';
import { displayHeader } from '../pipelines/messages.js';
import { REJECTION_ID_HEADER } from '../pipelines/rejection-id.js';
import type { CatalogSet } from '../src/catalog/load.js';
import type { Catalog } from '../src/catalog/types.js';
import type { Clock } from '../src/clock.js';
import type { CellValue, Issue } from '../src/types.js';
import { type BatchRecord, getBatch } from '../src/warehouse/batches.js';
import type { Warehouse } from '../src/warehouse/open.js';
import { badRequest, notFound } from './errors.js';
import { maskedContent } from './view.js';
import { adaptStreamingWriter, type StreamingAdapter, sizeNotesToText } from './workbook-exceljs.js';
import { GUIDE_SHEET, type GuideBatch, type RuleCount, writeGuide } from './workbook-guide.js';
import { batchLayout, type LayoutColumn } from './workbook-layout.js';

export interface WorkbookDeps {
  db: Warehouse;
  catalogs: CatalogSet;
  /** For the generated time on the 说明 sheet; default: the system clock. */
  clock?: Clock;
}

/** Which rejections: one batch, a list of ids (possibly across batches), or every open one in scope. */
export interface WorkbookQuery {
  batchId?: string;
  ids?: readonly number[];
  /** 'open' (default): only rejections still waiting; 'all': also fixed and discarded ones. */
  status?: 'open' | 'all';
  /** At most this many rows (in batch, row order). */
  limit?: number;
}

/** The counties the caller may see: null = all (steward, admin, command line); else one county. */
export interface WorkbookScope {
  county: string | null;
}

/** One batch's part of the workbook, resolved before a byte is written (so a refusal is a clean 404). */
export interface PlannedBatch {
  batch: BatchRecord;
  catalog: Catalog;
  layout: LayoutColumn[];
  rows: number;
  sheetName: string;
}

export interface WorkbookPlan {
  query: WorkbookQuery;
  scope: WorkbookScope;
  ids: number[] | null;
  batches: PlannedBatch[];
  rows: number;
  /** A download name: ASCII-only, and the readable UTF-8 one. */
  fileName: { ascii: string; utf8: string };
}

/** Most ids one request may name (a page offers "download the selected rows"; 50,000 is far beyond it). */
export const MAX_IDS = 50_000;
/** Rows fetched per query. */
export const PAGE_ROWS = 1000;

/** Red for a cell that must change (Excel's own "bad" colours), yellow for a warning. */
export const BAD_FILL: ExcelJS.Fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFFFC7CE' } };
export const WARN_FILL: ExcelJS.Fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFFFEB9C' } };
const BAD_FONT: Partial<ExcelJS.Font> = { color: { argb: 'FF9C0006' } };

// Excel refuses cells and notes longer than this.
const MAX_CELL_TEXT = 32_767;

/** Writes the annotated workbook of the rejections asked for to `out`; refuses (404) what the scope hides. */
export async function writeAnnotatedWorkbook(
  deps: WorkbookDeps,
  query: WorkbookQuery,
  scope: WorkbookScope,
  out: Writable,
): Promise<{ rows: number }> {
  const plan = await planAnnotatedWorkbook(deps, query, scope);
  return writeWorkbookPlan(deps, plan, out);
}

/**
 * Checks the request against the scope and resolves every batch's layout. Throws ReviewError 404 for a
 * batch or id the scope does not show (as if it did not exist), 400 for a malformed query.
 */
export async function planAnnotatedWorkbook(
  deps: WorkbookDeps,
  query: WorkbookQuery,
  scope: WorkbookScope,
): Promise<WorkbookPlan> {
  const ids = query.ids ? checkIds(query.ids) : null;
  if (query.limit !== undefined && !(Number.isSafeInteger(query.limit) && query.limit > 0)) {
    throw badRequest('BAD_LIMIT', '行数上限须为正整数。', `limit must be a positive integer, got ${query.limit}`);
  }
  const knex = deps.db.knex;
  if (query.batchId !== undefined) {
    const b = await getBatch(deps.db, query.batchId);
    if (!b || !visible(scope, b.county)) throw notFound('批次', query.batchId);
  }
  if (ids) {
    let q = knex('rejections').select('id').whereRaw('id = ANY(?::bigint[])', [ids]);
    if (scope.county !== null) q = q.where('county', scope.county);
    if (query.batchId !== undefined) q = q.where('batch_id', query.batchId);
    const found = new Set(((await q) as Array<{ id: string | number }>).map((r) => Number(r.id)));
    const missing = ids.find((id) => !found.has(id));
    if (missing !== undefined) throw notFound('退回行', missing);
  }

  const counts = (await filtered(knex, query, scope, ids)
    .select('batch_id')
    .count({ n: '*' })
    .groupBy('batch_id')
    .orderBy('batch_id')) as Array<{ batch_id: string; n: string | number }>;

  const batches: PlannedBatch[] = [];
  const names = new Set<string>([GUIDE_SHEET]);
  let left = query.limit ?? Number.POSITIVE_INFINITY;
  for (const c of counts) {
    if (left <= 0) break;
    const rows = Math.min(Number(c.n), left);
    left -= rows;
    const batch = await getBatch(deps.db, c.batch_id);
    if (!batch) continue; // removed meanwhile (a cancelled upload): nothing to show
    const catalog = deps.catalogs.get(batch.catalog);
    const layout = await batchLayout(deps.db, {
      batchId: batch.id,
      catalog,
      headers: batch.context?.headers,
      columns: batch.context?.columns,
    });
    batches.push({ batch, catalog, layout, rows, sheetName: sheetName(batch, catalog, names) });
  }
  const rows = batches.reduce((n, b) => n + b.rows, 0);
  return { query, scope, ids, batches, rows, fileName: fileName(query, batches) };
}

/** The reader of the workbook went away (a cancelled download): writing stopped. */
export class WorkbookAborted extends Error {
  constructor() {
    super('the workbook output was closed before the workbook was complete');
    this.name = 'WorkbookAborted';
  }
}

/**
 * Streams a planned workbook to `out` (which it ends). Rejects with {@link WorkbookAborted} when `out` is
 * closed early (the download was cancelled), instead of waiting for a reader that is gone.
 */
export async function writeWorkbookPlan(
  deps: WorkbookDeps,
  plan: WorkbookPlan,
  out: Writable,
): Promise<{ rows: number }> {
  const closed = closedEarly(out);
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: true, useSharedStrings: false });
  workbook.creator = 'guiji';
  const adapter = await adaptStreamingWriter(workbook);
  try {
    const rules = new Map<string, RuleCount>();
    const guide: GuideBatch[] = [];
    if (plan.batches.length === 0) {
      // Nothing to send back: still a valid workbook, with an empty data sheet and the 说明.
      workbook.addWorksheet('退回数据').commit();
    }
    let written = 0;
    for (const pb of plan.batches) {
      const n = await writeBatchSheet(deps, workbook, plan, pb, rules, () => readerReady(out, adapter, closed.promise));
      written += n;
      guide.push({
        batchId: pb.batch.id,
        file: pb.batch.file,
        sheet: pb.batch.sheet,
        catalogTitle: pb.catalog.title,
        county: pb.batch.county,
        dataSheet: pb.sheetName,
        rows: n,
      });
    }
    const g = workbook.addWorksheet(GUIDE_SHEET);
    writeGuide(g, {
      generatedAt: shanghaiTime(deps.clock?.now() ?? new Date()),
      batches: guide,
      rules: [...rules.values()].sort((a, b) => b.rows - a.rows || a.code.localeCompare(b.code)),
    });
    g.commit();
    await Promise.race([adapter.flushed(), closed.promise]);
    await Promise.race([workbook.commit(), closed.promise]);
    return { rows: written };
  } catch (e) {
    out.destroy(e as Error);
    throw e;
  } finally {
    closed.cancel();
    await adapter.dispose();
  }
}

/** A promise that rejects when `out` closes before it has finished (never settles otherwise). */
function closedEarly(out: Writable): { promise: Promise<never>; cancel(): void } {
  let onClose = () => {};
  const promise = new Promise<never>((_, reject) => {
    onClose = () => {
      if (!out.writableFinished) reject(new WorkbookAborted());
    };
    if (out.destroyed) onClose();
    else out.once('close', onClose);
  });
  promise.catch(() => {}); // observed through Promise.race; never an unhandled rejection
  return { promise, cancel: () => out.off('close', onClose) };
}

/** Waits while the zip or a slow reader (a download) catches up: rows are not produced faster than sent. */
async function readerReady(out: Writable, adapter: StreamingAdapter, closed: Promise<never>): Promise<void> {
  if (out.destroyed) throw new WorkbookAborted();
  await Promise.race([adapter.settle(), closed]);
  if (out.writableNeedDrain) await Promise.race([once(out, 'drain'), closed]);
}

async function writeBatchSheet(
  deps: WorkbookDeps,
  workbook: ExcelJS.stream.xlsx.WorkbookWriter,
  plan: WorkbookPlan,
  pb: PlannedBatch,
  rules: Map<string, RuleCount>,
  readerReady: () => Promise<void>,
): Promise<number> {
  const { layout } = pb;
  const idCol = layout.length + 1;
  const ws = workbook.addWorksheet(pb.sheetName, { views: [{ state: 'frozen', ySplit: 1 }] });
  sizeNotesToText(ws);
  const kinds = layout.map(columnKind);
  ws.columns = [
    ...layout.map((c, i) => ({
      width: columnWidth(c),
      style: kinds[i] === 'text' ? TEXT_STYLE : kinds[i] === 'date' ? DATE_STYLE : {},
    })),
    { width: 12, hidden: true, style: TEXT_STYLE },
  ];
  const head = ws.addRow([...layout.map((c) => c.header), REJECTION_ID_HEADER]);
  head.height = 30;
  head.eachCell((cell) => {
    cell.style = HEADER_STYLE;
  });
  head.commit();

  const byHeader = new Map<string, number>();
  layout.forEach((c, i) => {
    if (!byHeader.has(c.header)) byHeader.set(c.header, i);
    if (!byHeader.has(c.key)) byHeader.set(c.key, i);
  });

  let written = 0;
  let after = 0;
  while (written < pb.rows) {
    await readerReady();
    const page = (await filtered(deps.db.knex, plan.query, plan.scope, plan.ids)
      .where('batch_id', pb.batch.id)
      .where('row_number', '>', after)
      .select('id', 'row_number', 'cells', 'issues')
      .orderBy('row_number')
      .limit(Math.min(PAGE_ROWS, pb.rows - written))) as Array<Record<string, unknown>>;
    if (page.length === 0) break;
    for (const r of page) {
      const { cells, issues } = maskedContent(
        { cells: parse(r.cells) as Record<string, CellValue>, values: {}, issues: parse(r.issues) as Issue[] },
        pb.catalog,
        layout,
      );
      countRules(rules, issues);
      const values: unknown[] = layout.map((c, i) => cellValue(cells[c.key], kinds[i] as ColumnKind));
      values.push(String(r.id));
      const row = ws.addRow(values);
      const notes = placeIssues(issues, byHeader, cells, layout);
      for (let i = 0; i < layout.length; i++) {
        const cell = row.getCell(i + 1);
        const note = notes.get(i);
        const kind = kinds[i] as ColumnKind;
        cell.style = note ? (note.error ? BAD_STYLES : WARN_STYLES)[kind] : PLAIN_STYLES[kind];
        if (note) cell.note = clip(note.lines.join('\n'));
      }
      row.getCell(idCol).style = TEXT_STYLE;
      row.commit();
      after = Number(r.row_number);
    }
    written += page.length;
  }
  ws.autoFilter = { from: { row: 1, column: 1 }, to: { row: Math.max(1, written + 1), column: idCol } };
  ws.commit();
  return written;
}

// ---- query ----

function filtered(
  knex: Warehouse['knex'],
  query: WorkbookQuery,
  scope: WorkbookScope,
  ids: number[] | null,
): ReturnType<Warehouse['knex']> {
  let q = knex('rejections');
  if (query.batchId !== undefined) q = q.where('batch_id', query.batchId);
  if ((query.status ?? 'open') === 'open') q = q.where('status', 'open');
  if (scope.county !== null) q = q.where('county', scope.county);
  if (ids) q = q.whereRaw('id = ANY(?::bigint[])', [ids]);
  return q;
}

function checkIds(ids: readonly number[]): number[] {
  const out = [...new Set(ids)];
  if (out.length === 0) throw badRequest('BAD_IDS', '请至少选择一条退回记录。', 'no rejection ids given');
  if (out.length > MAX_IDS) {
    throw badRequest('TOO_MANY_IDS', `一次最多导出 ${MAX_IDS} 条退回记录。`, `more than ${MAX_IDS} ids`);
  }
  const bad = out.find((id) => !(Number.isSafeInteger(id) && id > 0));
  if (bad !== undefined) throw badRequest('BAD_IDS', `退回编号“${bad}”无效。`, `bad rejection id ${bad}`);
  return out;
}

function visible(scope: WorkbookScope, county: string | null): boolean {
  return scope.county === null || county === scope.county;
}

function parse(v: unknown): unknown {
  return typeof v === 'string' ? JSON.parse(v) : v;
}

// ---- cells ----

type ColumnKind = 'text' | 'date' | 'general';

/** Code and short-text columns are text formatted (as in the template) so Excel cannot mangle an ID. */
function columnKind(c: LayoutColumn): ColumnKind {
  if (!c.field) return 'general';
  if (c.field.clean === 'date') return 'date';
  return isTextFormatted(c.field) ? 'text' : 'general';
}

// Shared style objects: exceljs caches a style id per object, so reusing them keeps 10,000 rows cheap.
const TEXT_STYLE: Partial<ExcelJS.Style> = { numFmt: '@' };
const DATE_STYLE: Partial<ExcelJS.Style> = { numFmt: DATE_FORMAT };
const HEADER_STYLE: Partial<ExcelJS.Style> = {
  font: { bold: true },
  fill: HEADER_FILL,
  alignment: { vertical: 'middle', horizontal: 'center', wrapText: true },
  border: { bottom: { style: 'thin' } },
};
const PLAIN_STYLES: Record<ColumnKind, Partial<ExcelJS.Style>> = { text: TEXT_STYLE, date: DATE_STYLE, general: {} };
const BAD_STYLES = styled(BAD_FILL, BAD_FONT);
const WARN_STYLES = styled(WARN_FILL);

function styled(fill: ExcelJS.Fill, font?: Partial<ExcelJS.Font>): Record<ColumnKind, Partial<ExcelJS.Style>> {
  const extra = font ? { fill, font } : { fill };
  return {
    text: { ...TEXT_STYLE, ...extra },
    date: { ...DATE_STYLE, ...extra },
    general: { ...extra },
  };
}

// A date cell read from Excel is stored as its JSON form; it goes back as a date.
const JSON_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function cellValue(v: CellValue | undefined, kind: ColumnKind): unknown {
  if (v === null || v === undefined || v === '') return null;
  if (typeof v === 'string' && JSON_DATE.test(v)) {
    const d = new Date(v);
    if (!Number.isNaN(d.getTime())) return d;
  }
  if (typeof v === 'string') return clip(v);
  if (kind === 'text' && typeof v === 'number') return String(v);
  return v;
}

function clip(s: string): string {
  return s.length > MAX_CELL_TEXT ? `${s.slice(0, MAX_CELL_TEXT - 1)}…` : s;
}

function columnWidth(c: LayoutColumn): number {
  const len = displayHeader(c.header).length;
  if (c.field?.clean === 'code') return 22;
  if (c.field?.clean === 'date') return 14;
  if ((c.field?.maxLength ?? 0) > 500) return 40;
  return Math.min(30, Math.max(12, len * 2 + 2));
}

// ---- issues ----

interface CellNote {
  error: boolean;
  lines: string[];
}

/**
 * Column index → what to say there. An issue goes on the cell of its header; one without a header (a
 * ragged CSV row, a column the file lacks) goes on the row's first cell.
 */
function placeIssues(
  issues: readonly Issue[],
  byHeader: ReadonlyMap<string, number>,
  cells: Record<string, CellValue>,
  layout: readonly LayoutColumn[],
): Map<number, CellNote> {
  const notes = new Map<number, CellNote>();
  const add = (col: number, issue: Issue) => {
    const note = notes.get(col) ?? { error: false, lines: [] };
    const line = issue.severity === 'error' ? issue.zh : `（提示）${issue.zh}`;
    if (!note.lines.includes(line)) note.lines.push(line);
    note.error ||= issue.severity === 'error';
    notes.set(col, note);
  };
  for (const issue of issues) {
    const col = issue.header != null ? byHeader.get(issue.header) : undefined;
    add(col ?? 0, issue);
  }
  // Cells the layout has no column for (a ragged row's extra cells) are named on the first cell.
  const known = new Set(layout.map((c) => c.key));
  const extra = Object.entries(cells).filter(([k, v]) => !known.has(k) && v !== null && v !== '');
  if (extra.length > 0) {
    const note = notes.get(0) ?? { error: true, lines: [] };
    note.lines.push(`本行多出的单元格：${extra.map(([k, v]) => `${k}＝${String(v)}`).join('；')}`);
    notes.set(0, note);
  }
  for (const note of notes.values()) {
    if (note.lines.length > 1) note.lines = note.lines.map((l, i) => `${i + 1}. ${l}`);
  }
  return notes;
}

function countRules(rules: Map<string, RuleCount>, issues: readonly Issue[]): void {
  const seen = new Set<string>();
  for (const i of issues) {
    if (i.severity !== 'error' || seen.has(i.code)) continue;
    seen.add(i.code);
    const r = rules.get(i.code);
    if (r) r.rows++;
    else rules.set(i.code, { code: i.code, rows: 1, example: i.zh });
  }
}

// ---- names ----

const SHEET_FORBIDDEN = /[\p{Cc}[\]:*?/\\]/gu;

/** A sheet name Excel accepts (≤ 31 characters, none of []:*?/\), unique in the workbook. */
function sheetName(batch: BatchRecord, catalog: Catalog, taken: Set<string>): string {
  const base =
    (batch.sheet ?? '')
      .replace(SHEET_FORBIDDEN, '')
      .replace(/^'+|'+$/g, '')
      .trim()
      .slice(0, 28) || `${catalog.title}退回`;
  let name = base;
  for (let n = 2; taken.has(name.toLowerCase()); n++) name = `${base.slice(0, 26)}(${n})`;
  taken.add(name.toLowerCase());
  return name;
}

/** `<file stem>-退回数据.xlsx`, and an ASCII one for old clients (`rejections-<batch id>.xlsx`). */
function fileName(query: WorkbookQuery, batches: readonly PlannedBatch[]): WorkbookPlan['fileName'] {
  const only = batches.length === 1 ? batches[0] : undefined;
  const batchId = query.batchId ?? only?.batch.id;
  const ascii = `rejections${batchId ? `-${batchId}` : ''}.xlsx`.replace(/[^A-Za-z0-9._-]/g, '_');
  const stem = only
    ? only.batch.file
        .replace(/\.[^.]*$/, '')
        .replace(/[\p{Cc}"\\/:*?<>|]/gu, '')
        .slice(0, 80)
    : '';
  return { ascii, utf8: `${stem ? `${stem}-` : ''}退回数据.xlsx` };
}

function shanghaiTime(d: Date): string {
  return new Intl.DateTimeFormat('zh-CN', {
    timeZone: 'Asia/Shanghai',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hour12: false,
  }).format(d);
}

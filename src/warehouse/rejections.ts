import { maskIdNumber } from '../identifiers/index.js';
import type { CellValue, Issue, Row } from '../types.js';
import type { Warehouse } from './open.js';

export interface RejectionBatch {
  id: string;
  catalog: string;
  county: string;
  file: string;
  sheet?: string | null;
}

const CHUNK = 500;

/**
 * The key each column's cell is stored under in `rejections.cells`, by column index: the header text; a
 * header that appears twice keeps both cells, the second under `header#<column number>`; an empty header
 * is `#<column number>`. (JSON objects do not keep key order, so callers that need the file's column
 * order keep this array, not the object's keys.)
 */
export function cellKeys(headers: readonly string[], columns = headers.length): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (let i = 0; i < Math.max(headers.length, columns); i++) {
    let h = headers[i] ?? '';
    if (h === '') h = `#${i + 1}`;
    if (seen.has(h)) h = `${h}#${i + 1}`;
    seen.add(h);
    out.push(h);
  }
  return out;
}

/** Header text → cell as the file had it (keys as {@link cellKeys} names them). */
export function cellsByHeader(headers: readonly string[], cells: readonly CellValue[]): Record<string, CellValue> {
  const out: Record<string, CellValue> = {};
  cellKeys(headers, cells.length).forEach((k, i) => {
    out[k] = cells[i] ?? null;
  });
  return out;
}

/**
 * Stores rejected rows with their original cells, the values cleaned so far and every issue. Bulk,
 * chunked; re-saving the same (batch, row) replaces it (a retried chunk changes nothing twice).
 * Personal IDs are stored as they are: the warehouse is not public output; `listRejections` masks them.
 */
export async function saveRejections(
  wh: Warehouse,
  batch: RejectionBatch,
  rows: readonly Row[],
  headers: readonly string[],
): Promise<number> {
  const cellsJson = cellsJsonWriter(headers);
  for (let i = 0; i < rows.length; i += CHUNK) {
    const items = rows.slice(i, i + CHUNK).map((r) => rejectionJson(r, cellsJson));
    await insertRejections(wh, batch, `[${items.join(',')}]`);
  }
  return rows.length;
}

/** A rejected row as one element of the JSON array `insertRejections` takes. */
function rejectionJson(r: Row, cellsJson: (cells: readonly CellValue[]) => string): string {
  return `{"row_number":${r.prov.rowNumber},"cells":${cellsJson(r.cells)},"values":${JSON.stringify(r.values)},"issues":${JSON.stringify(r.issues)},"error_codes":${JSON.stringify(errorArray(r.issues, 'code'))},"error_fields":${JSON.stringify(errorArray(r.issues, 'field'))}}`;
}

/**
 * Rejections as one JSON array, in one statement with one parameter: a multi-row INSERT of several hundred
 * rows had thousands of parameters, which the query builder, the driver and the server each handled one
 * by one (measured on a 1M-row file with 10k rejections and 32k warnings: leaving these writes out took
 * 3–6 s off the ingest; one statement each took back 2–3 s of that). Re-saving a (batch, row) replaces it.
 */
async function insertRejections(wh: Warehouse, batch: RejectionBatch, json: string): Promise<void> {
  await wh.knex.raw(
    `INSERT INTO rejections (batch_id, catalog, county, file, sheet, row_number, cells, "values", issues, error_codes, error_fields)
     SELECT ?, ?, ?, ?, ?, x.row_number, x.cells, x."values", x.issues, x.error_codes, x.error_fields
     FROM jsonb_to_recordset(?::jsonb)
       AS x(row_number integer, cells jsonb, "values" jsonb, issues jsonb, error_codes text[], error_fields text[])
     ON CONFLICT (batch_id, row_number) DO UPDATE SET
       catalog = excluded.catalog, county = excluded.county, file = excluded.file, sheet = excluded.sheet,
       cells = excluded.cells, "values" = excluded."values", issues = excluded.issues,
       error_codes = excluded.error_codes, error_fields = excluded.error_fields`,
    [batch.id, batch.catalog, batch.county, batch.file, batch.sheet ?? null, json],
  );
}

/**
 * `JSON.stringify(cellsByHeader(headers, cells))` with the keys worked out and quoted once per width,
 * not once per row.
 */
function cellsJsonWriter(headers: readonly string[]): (cells: readonly CellValue[]) => string {
  const quotedKeys = new Map<number, string[]>();
  return (cells) => {
    let keys = quotedKeys.get(cells.length);
    if (keys === undefined) {
      keys = cellKeys(headers, cells.length).map((k) => JSON.stringify(k));
      quotedKeys.set(cells.length, keys);
    }
    let out = '{';
    for (let i = 0; i < keys.length; i++) {
      if (i > 0) out += ',';
      out += `${keys[i]}:${JSON.stringify(cells[i] ?? null)}`;
    }
    return `${out}}`;
  };
}

/** Removes what a batch left for review: its rejections, warnings and rejection links (a cancelled upload). */
export async function deleteBatchRows(wh: Warehouse, batchId: string): Promise<number> {
  await wh.knex('rejection_links').where('batch_id', batchId).delete();
  await wh.knex('row_warnings').where('batch_id', batchId).delete();
  // Raw, for the count: knex's delete() resolves to PGlite's whole result object, not a number.
  const res = await wh.knex.raw('DELETE FROM rejections WHERE batch_id = ?', [batchId]);
  return res.rowCount ?? 0;
}

/** The distinct codes (or fields) of a row's errors: what the review page filters and counts by. */
export function errorArray(issues: readonly Issue[], key: 'code' | 'field'): string[] {
  const out = new Set<string>();
  for (const i of issues) {
    const v = i[key];
    if (i.severity === 'error' && v !== undefined) out.add(v);
  }
  return [...out];
}

/** Stores the warnings of loaded or duplicate rows (rows without warnings are skipped); replaces a row's. */
export function saveWarnings(wh: Warehouse, batchId: string, rows: readonly Row[]): Promise<number> {
  return writeWarnings(wh, batchId, rows, 'replace');
}

/**
 * Adds warnings to rows that may already have some (a duplicate found at merge time, on a row whose own
 * warnings were stored with its chunk). Idempotent: warnings already there are not added twice.
 */
export function appendWarnings(wh: Warehouse, batchId: string, rows: readonly Row[]): Promise<number> {
  return writeWarnings(wh, batchId, rows, 'append');
}

async function writeWarnings(
  wh: Warehouse,
  batchId: string,
  rows: readonly Row[],
  mode: 'replace' | 'append',
): Promise<number> {
  const withWarnings = rows.filter((r) => r.issues.some((i) => i.severity === 'warning'));
  for (let i = 0; i < withWarnings.length; i += CHUNK) {
    const items = withWarnings.slice(i, i + CHUNK).map(warningJson);
    await insertWarnings(wh, batchId, `[${items.join(',')}]`, mode);
  }
  return withWarnings.length;
}

/** A row's warnings as one element of the JSON array `insertWarnings` takes. */
function warningJson(r: Row): string {
  const warnings = JSON.stringify(r.issues.filter((x) => x.severity === 'warning'));
  return `{"row_number":${r.prov.rowNumber},"record_key":${JSON.stringify(r.key ?? null)},"issues":${warnings}}`;
}

/** Warnings as one JSON array in one statement (see insertRejections). */
async function insertWarnings(wh: Warehouse, batchId: string, json: string, mode: 'replace' | 'append'): Promise<void> {
  // Append keeps a row's warnings and adds the new ones, unless they are all there already.
  const onConflict =
    mode === 'replace'
      ? 'record_key = excluded.record_key, issues = excluded.issues'
      : 'issues = CASE WHEN row_warnings.issues @> excluded.issues THEN row_warnings.issues ELSE row_warnings.issues || excluded.issues END';
  await wh.knex.raw(
    `INSERT INTO row_warnings (batch_id, row_number, record_key, issues)
     SELECT ?, x.row_number, x.record_key, x.issues
     FROM jsonb_to_recordset(?::jsonb) AS x(row_number integer, record_key text, issues jsonb)
     ON CONFLICT (batch_id, row_number) DO UPDATE SET ${onConflict}`,
    [batchId, json],
  );
}

export type RejectionStatus = 'open' | 'fixed' | 'discarded';

export interface RejectionRecord {
  id: number;
  batchId: string;
  catalog: string;
  county: string | null;
  file: string;
  sheet: string | null;
  rowNumber: number;
  cells: Record<string, CellValue>;
  values: Record<string, unknown>;
  issues: Issue[];
  status: RejectionStatus;
  createdAt: Date;
}

export interface ListRejectionsOptions {
  batchId?: string;
  status?: RejectionStatus;
  limit?: number;
  offset?: number;
  /** Field names whose values are personal (catalog fields with `personal`); masked in `values`. */
  personalFields?: ReadonlySet<string>;
}

// An 18-digit resident ID (last may be X) or a 15-digit one, alone in a cell.
const ID_LIKE = /^\s*(?:\d{17}[\dXx]|\d{15})\s*$/;

const ID_IN_TEXT = /(?<![0-9A-Za-z])(?:\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])/g;

function maskIfId(v: unknown): unknown {
  if (typeof v === 'string') return ID_LIKE.test(v) ? maskIdNumber(v.trim()) : v;
  // An ID number Excel stored as a number (`230184199205168000`, digits lost or not) still shows them.
  if (typeof v === 'number' && Number.isInteger(v) && ID_LIKE.test(String(v))) return maskIdNumber(String(v));
  return v;
}

/** What a rejection shows of a row: its cells, the values cleaned so far and its issues. */
export interface RejectionContent {
  cells: Record<string, CellValue>;
  values: Record<string, unknown>;
  issues: Issue[];
}

/**
 * Masks personal ID numbers in a rejection's content, in place (and returns it): values of the given
 * personal fields, and any cell, value or issue value/message that looks like a resident ID number.
 * Everything that shows a rejection (CLI, review page, annotated workbook) goes through this.
 */
export function maskRejectionContent(content: RejectionContent, personal: ReadonlySet<string>): RejectionContent {
  const { cells, values, issues } = content;
  for (const k of Object.keys(cells)) cells[k] = maskIfId(cells[k]) as CellValue;
  for (const k of Object.keys(values)) {
    const v = values[k];
    values[k] = personal.has(k) && typeof v === 'string' ? maskIdNumber(v) : maskIfId(v);
  }
  for (const i of issues) {
    // A personal field's value is masked wherever it shows, even when it is not a well-formed ID
    // (a 17-digit typo is still somebody's ID number).
    if (i.field !== undefined && personal.has(i.field) && i.value !== undefined && i.value !== null) {
      const raw = String(i.value);
      if (raw.length >= 6) {
        const masked = maskIdNumber(raw);
        i.zh = i.zh.split(raw).join(masked);
        i.en = i.en.split(raw).join(masked);
        if (i.header !== undefined && cells[i.header] !== undefined && String(cells[i.header]) === raw) {
          cells[i.header] = masked;
        }
      }
    }
    i.zh = i.zh.replace(ID_IN_TEXT, maskIdNumber);
    i.en = i.en.replace(ID_IN_TEXT, maskIdNumber);
    if (i.value === undefined) continue;
    i.value =
      i.field !== undefined && personal.has(i.field) && typeof i.value === 'string'
        ? maskIdNumber(i.value)
        : maskIfId(i.value);
  }
  return content;
}

/**
 * Rejections for public output (CLI, review page): personal ID numbers are masked — values of the given
 * personal fields, and any cell, value or issue value that looks like a resident ID number.
 */
export async function listRejections(wh: Warehouse, opts: ListRejectionsOptions = {}): Promise<RejectionRecord[]> {
  let q = wh
    .knex('rejections')
    .select('id', 'batch_id', 'catalog', 'county', 'file', 'sheet', 'row_number', 'cells', 'values', 'issues', 'status')
    .select('created_at')
    .orderBy([{ column: 'batch_id' }, { column: 'row_number' }])
    .limit(opts.limit ?? 100)
    .offset(opts.offset ?? 0);
  if (opts.batchId !== undefined) q = q.where('batch_id', opts.batchId);
  if (opts.status !== undefined) q = q.where('status', opts.status);
  const rows = (await q) as Record<string, unknown>[];
  const personal = opts.personalFields ?? new Set<string>();
  return rows.map((r) => {
    const record = rejectionFromRow(r);
    return { ...record, ...maskRejectionContent(record, personal), createdAt: new Date(r.created_at as string | Date) };
  });
}

/** A `rejections` row as stored (jsonb parsed, nothing masked), without its timestamps. */
export function rejectionFromRow(r: Record<string, unknown>): Omit<RejectionRecord, 'createdAt'> {
  return {
    id: Number(r.id),
    batchId: r.batch_id as string,
    catalog: r.catalog as string,
    county: (r.county as string | null) ?? null,
    file: r.file as string,
    sheet: (r.sheet as string | null) ?? null,
    rowNumber: Number(r.row_number),
    cells: (parseJson(r.cells) ?? {}) as Record<string, CellValue>,
    values: (parseJson(r.values) ?? {}) as Record<string, unknown>,
    issues: (parseJson(r.issues) ?? []) as Issue[],
    status: r.status as RejectionStatus,
  };
}

function parseJson(v: unknown): unknown {
  return typeof v === 'string' ? JSON.parse(v) : v;
}

import type { Catalog, FieldDef } from '../catalog/types.js';
import { internalError } from '../errors.js';
import type { Row } from '../types.js';

/**
 * PostgreSQL COPY text format (the default format): columns separated by a tab, rows by a newline,
 * `\N` for NULL, and backslash, tab, newline and carriage return escaped with a backslash.
 * Arrays travel as array literals (`{"a","b"}`), escaped for the literal first and for COPY second.
 */
const COPY_SPECIAL = /[\\\t\n\r]/;
const COPY_SPECIAL_G = /[\\\t\n\r]/g;
const COPY_ESC: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
const ARRAY_SPECIAL = /["\\]/;
const ARRAY_SPECIAL_G = /["\\]/g;

export const COPY_NULL = '\\N';

export function copyEscape(s: string): string {
  // A regex test beats a charCodeAt scan here (measured on Node 20): keep it.
  return COPY_SPECIAL.test(s) ? s.replace(COPY_SPECIAL_G, (c) => COPY_ESC[c] as string) : s;
}

/** A scalar value as COPY text; empty strings and absent values are NULL (a missing value, not ''). */
export function copyScalar(v: unknown): string {
  if (v === null || v === undefined || v === '') return COPY_NULL;
  switch (typeof v) {
    case 'string':
      return copyEscape(v);
    case 'number':
      return Number.isFinite(v) ? String(v) : COPY_NULL;
    case 'boolean':
      return v ? 't' : 'f';
    case 'bigint':
      return String(v);
    default:
      if (v instanceof Date) return v.toISOString();
      return copyEscape(JSON.stringify(v));
  }
}

/** A one-dimensional array as an array literal, in COPY text. A scalar becomes a one-element array. */
export function copyArray(v: unknown): string {
  if (v === null || v === undefined || v === '') return COPY_NULL;
  const items = Array.isArray(v) ? v : [v];
  let out = '{';
  for (let i = 0; i < items.length; i++) {
    if (i > 0) out += ',';
    const it = items[i];
    if (it === null || it === undefined) out += 'NULL';
    else {
      const t = String(it);
      out += `"${ARRAY_SPECIAL.test(t) ? t.replace(ARRAY_SPECIAL_G, '\\$&') : t}"`;
    }
  }
  return copyEscape(`${out}}`);
}

export type CellEncoder = (v: unknown) => string;

/** One encoder per field, chosen once per catalog (not per cell). */
export function fieldEncoders(fields: readonly FieldDef[]): CellEncoder[] {
  return fields.map((f) => (f.sqlType.trim().endsWith('[]') ? copyArray : copyScalar));
}

/** The batch a staged row belongs to (lineage written on every staged row). */
export interface StageBatch {
  id: string;
  county: string;
  file: string;
  sheet?: string | null;
}

/** Rows of one chunk encoded for COPY into the staging table: built where the rows are (a worker thread). */
export interface EncodedStaging {
  text: string;
  count: number;
  /** Row-number range of the chunk (a re-stage first deletes it). */
  lo: number;
  hi: number;
}

/** Staging columns in COPY order (the same order `encodeStaging` writes). */
export function stagingCopyColumns(catalog: Catalog): string[] {
  return [
    'batch_id',
    'county',
    'source_file',
    'source_sheet',
    'row_number',
    'record_key',
    'content_hash',
    'subject_key',
    ...catalog.fields.map((f) => f.name),
  ];
}

/** What encodeStaging needs of a catalog, computed once per catalog. */
interface EncodePlan {
  names: string[];
  encoders: CellEncoder[];
  /** Every catalog field, for telling an unknown key (skipped) from a known one out of order. */
  known: ReadonlySet<string>;
}

const planCache = new WeakMap<Catalog, EncodePlan>();

function planOf(catalog: Catalog): EncodePlan {
  let plan = planCache.get(catalog);
  if (!plan) {
    const names = catalog.fields.map((f) => f.name);
    const encoders = fieldEncoders(catalog.fields).map((e) => (e === copyScalar ? scalarPiece : e));
    plan = { names, encoders, known: new Set(names) };
    planCache.set(catalog, plan);
  }
  return plan;
}

/** Text of the numbers seen lately: amounts repeat, and a double's shortest form is slow to find. */
const numberTexts = new Map<number, string>();
const NUMBER_TEXTS_MAX = 4096;

/** copyScalar, with the common types first and numbers remembered. */
function scalarPiece(v: unknown): string {
  if (typeof v === 'string') return v === '' ? COPY_NULL : copyEscape(v);
  if (typeof v === 'number' && Number.isFinite(v)) {
    let t = numberTexts.get(v);
    if (t === undefined) {
      t = String(v);
      if (numberTexts.size >= NUMBER_TEXTS_MAX) numberTexts.clear();
      numberTexts.set(v, t);
    }
    return t;
  }
  return copyScalar(v);
}

/** `\N\t\N…`: `k` NULL columns as one piece (index k), so a run of empty fields is one join element. */
function nullRuns(width: number, after = ''): string[] {
  const runs = [after];
  let run = '';
  for (let k = 1; k <= width; k++) {
    run = k === 1 ? COPY_NULL : `${run}\t${COPY_NULL}`;
    runs.push(run + after);
  }
  return runs;
}

const nullRunCache = new WeakMap<Catalog, string[]>();

/**
 * Encodes valid rows (with `key` and `hash` set) as COPY text for the staging table. Pure: no driver.
 *
 * The whole chunk is one `join('\t')` over its pieces (each value once, runs of NULLs as one piece,
 * a row's last piece carrying the line break and the next row's first column): the characters are
 * copied once, not once per line and again for the chunk.
 */
export function encodeStaging(catalog: Catalog, batch: StageBatch, rows: readonly Row[]): EncodedStaging {
  const { names, encoders, known } = planOf(catalog);
  const width = names.length;
  let runs = nullRunCache.get(catalog);
  if (!runs) {
    runs = nullRuns(width);
    nullRunCache.set(catalog, runs);
  }
  // Per-batch constant columns are escaped once.
  const prefix = `${copyEscape(batch.id)}\t${copyScalar(batch.county)}\t${copyScalar(batch.file)}\t${copyScalar(batch.sheet ?? null)}`;
  const rowBreak = `\n${prefix}`;
  /** runsThenBreak[k]: k NULLs ending a row, the line break and the next row's first column. */
  const runsThenBreak = nullRuns(width, rowBreak);
  // Grown by appending: `new Array(n)` past ~100k elements would be a slow dictionary-mode array.
  const pieces: string[] = [];
  let p = 0;
  /** The previous row's last piece (NULL run or value), waiting for the line break. */
  let tail: string | undefined;
  let tailNulls = 0;
  const cursor: Cursor = { p: 0, nulls: 0 };
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r] as Row;
    if (row.key === undefined || row.hash === undefined) {
      throw internalError(
        'STAGE_WITHOUT_KEY',
        '内部错误：尚未计算自然键的行被送去入库。',
        `row ${row.prov.rowNumber} has no key/hash`,
        { row: row.prov.rowNumber },
      );
    }
    const n = row.prov.rowNumber;
    if (n < lo) lo = n;
    if (n > hi) hi = n;
    const v = row.values;
    const sk = v.subject_key;
    if (tail === undefined) pieces[p++] = prefix;
    else pieces[p++] = tailNulls > 0 ? (runsThenBreak[tailNulls] as string) : tail + rowBreak;
    pieces[p++] = String(n);
    pieces[p++] = copyEscape(row.key);
    pieces[p++] = copyEscape(row.hash);
    pieces[p++] = typeof sk === 'string' && sk !== '' ? copyEscape(sk) : COPY_NULL;
    cursor.p = p;
    if (!fieldsInOrder(v, names, encoders, known, runs, pieces, cursor)) {
      cursor.p = p;
      fieldsByName(v, names, encoders, runs, pieces, cursor);
    }
    p = cursor.p;
    if (cursor.nulls > 0) {
      tail = '';
      tailNulls = cursor.nulls;
    } else {
      tail = pieces[--p] as string;
      tailNulls = 0;
    }
  }
  if (tail !== undefined) pieces[p++] = `${tailNulls > 0 ? runs[tailNulls] : tail}\n`;
  pieces.length = p;
  return { text: p > 0 ? pieces.join('\t') : '', count: rows.length, lo, hi };
}

/** Where the field writers are: the next piece index, and the NULL columns not yet written. */
interface Cursor {
  p: number;
  nulls: number;
}

/**
 * Writes the pieces of a row's catalog fields at `cursor.p`, walking the values' own keys: clean adds
 * them in catalog order, and a for-in walk reads them without a lookup by name each (values objects come
 * in dozens of shapes). Trailing NULL columns are left in `cursor.nulls` for the caller to end the row
 * with. False when a catalog field comes out of catalog order: then fieldsByName must write the row.
 */
function fieldsInOrder(
  v: Record<string, unknown>,
  names: readonly string[],
  encoders: readonly CellEncoder[],
  known: ReadonlySet<string>,
  runs: readonly string[],
  pieces: string[],
  cursor: Cursor,
): boolean {
  const width = names.length;
  let p = cursor.p;
  let next = 0;
  let nulls = 0;
  for (const k in v) {
    let i = next;
    while (i < width && names[i] !== k) i++;
    if (i === width) {
      if (known.has(k)) return false;
      continue; // not a catalog field (subject_key)
    }
    nulls += i - next;
    next = i + 1;
    const piece = (encoders[i] as CellEncoder)(v[k]);
    if (piece === COPY_NULL) nulls++;
    else {
      if (nulls > 0) {
        pieces[p++] = runs[nulls] as string;
        nulls = 0;
      }
      pieces[p++] = piece;
    }
  }
  cursor.p = p;
  cursor.nulls = nulls + width - next;
  return true;
}

/** fieldsInOrder for values whose keys come in another order: every field looked up by name. */
function fieldsByName(
  v: Record<string, unknown>,
  names: readonly string[],
  encoders: readonly CellEncoder[],
  runs: readonly string[],
  pieces: string[],
  cursor: Cursor,
): void {
  let p = cursor.p;
  let nulls = 0;
  for (let i = 0; i < names.length; i++) {
    const piece = (encoders[i] as CellEncoder)(v[names[i] as string]);
    if (piece === COPY_NULL) nulls++;
    else {
      if (nulls > 0) {
        pieces[p++] = runs[nulls] as string;
        nulls = 0;
      }
      pieces[p++] = piece;
    }
  }
  cursor.p = p;
  cursor.nulls = nulls;
}

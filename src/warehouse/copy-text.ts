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
  /** The COPY text, or the same as UTF-8 bytes (a thread's output: bytes cross threads without a copy). */
  data: string | Uint8Array;
  count: number;
  /** Row-number range of the chunk (a re-stage first deletes it). */
  lo: number;
  hi: number;
}

/** Room first given to the COPY text of a chunk of records (the sink grows past it if need be). */
export const RECORDS_COPY_BYTES = 1 << 20;

/** Room for the COPY text of a CSV chunk of `csvBytes`: the text is about 1.3 times as long (key, hash, lineage). */
export function copyBytesForCsv(csvBytes: number): number {
  return Math.ceil(csvBytes * 1.5);
}

/**
 * COPY text gathered as UTF-8 bytes piece by piece: each piece is encoded as it comes, so the strings
 * die young (kept until the end, a chunk's text outlived young-generation collections and filled the
 * old generation) and the bytes can move to another thread without a copy.
 */
export class Utf8Sink {
  private buf: Buffer;
  private at = 0;
  private readonly encoder = new TextEncoder();

  /** `spare`: a buffer to write into if it is large enough (one used before, see BufferPool). */
  constructor(initialBytes = 1 << 20, spare?: ArrayBuffer) {
    const size = Math.max(1024, Math.ceil(initialBytes));
    // Not zero-filled: only what is written is touched.
    this.buf = spare && spare.byteLength >= size ? Buffer.from(spare) : Buffer.allocUnsafeSlow(size);
  }

  add(text: string): void {
    let from = 0;
    for (;;) {
      const r = this.encoder.encodeInto(from === 0 ? text : text.substring(from), this.buf.subarray(this.at));
      this.at += r.written;
      from += r.read;
      if (from >= text.length) return;
      // Out of room (rare when the first size is right): twice the size, the written part copied over.
      const bigger = Buffer.allocUnsafeSlow(this.buf.length * 2);
      this.buf.copy(bigger, 0, 0, this.at);
      this.buf = bigger;
    }
  }

  bytes(): Uint8Array {
    return this.buf.subarray(0, this.at);
  }
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
  /** runs[k]: k NULL columns as one piece. */
  runs: string[];
}

const planCache = new WeakMap<Catalog, EncodePlan>();

function planOf(catalog: Catalog): EncodePlan {
  let plan = planCache.get(catalog);
  if (!plan) {
    const names = catalog.fields.map((f) => f.name);
    const encoders = fieldEncoders(catalog.fields).map((e) => (e === copyScalar ? scalarPiece : e));
    plan = { names, encoders, known: new Set(names), runs: nullRuns(names.length) };
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
function nullRuns(width: number): string[] {
  const runs = [''];
  let run = '';
  for (let k = 1; k <= width; k++) {
    run = k === 1 ? COPY_NULL : `${run}\t${COPY_NULL}`;
    runs.push(run);
  }
  return runs;
}

/**
 * Encodes valid rows (with `key` and `hash` set) as COPY text for the staging table. Pure: no driver.
 * A line is one `join` of its pieces, with a run of NULL columns as one piece (join's cost is per
 * element); the lines are joined once. Measured: one join over the whole chunk's pieces is slower.
 */
export function encodeStaging(catalog: Catalog, batch: StageBatch, rows: readonly Row[]): EncodedStaging {
  const { names, encoders, known, runs } = planOf(catalog);
  // Per-batch constant columns are escaped once.
  const prefix = `${copyEscape(batch.id)}\t${copyScalar(batch.county)}\t${copyScalar(batch.file)}\t${copyScalar(batch.sheet ?? null)}`;
  // One row's pieces, reused row after row.
  const cols: string[] = [prefix];
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  // A last empty line gives the text its final line break in the same join.
  const lines: string[] = new Array(rows.length + 1);
  lines[rows.length] = '';
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
    cols[1] = String(n);
    cols[2] = copyEscape(row.key);
    cols[3] = copyEscape(row.hash);
    cols[4] = typeof sk === 'string' && sk !== '' ? copyEscape(sk) : COPY_NULL;
    let end = fieldsInOrder(v, names, encoders, known, runs, cols, 5);
    if (end < 0) end = fieldsByName(v, names, encoders, runs, cols, 5);
    cols.length = end;
    lines[r] = cols.join('\t');
  }
  return { data: rows.length ? lines.join('\n') : '', count: rows.length, lo, hi };
}

/**
 * Writes the pieces of a row's catalog fields into `cols` from `from`, walking the values' own keys:
 * clean adds them in catalog order, and a for-in walk reads them without a lookup by name each (values
 * objects come in dozens of shapes, which makes every such lookup megamorphic). Returns where the
 * pieces end, or -1 when a catalog field comes out of catalog order (then fieldsByName writes the row).
 */
function fieldsInOrder(
  v: Record<string, unknown>,
  names: readonly string[],
  encoders: readonly CellEncoder[],
  known: ReadonlySet<string>,
  runs: readonly string[],
  cols: string[],
  from: number,
): number {
  const width = names.length;
  let p = from;
  let next = 0;
  let nulls = 0;
  for (const k in v) {
    let i = next;
    while (i < width && names[i] !== k) i++;
    if (i === width) {
      if (known.has(k)) return -1;
      continue; // not a catalog field (subject_key)
    }
    nulls += i - next;
    next = i + 1;
    const piece = (encoders[i] as CellEncoder)(v[k]);
    if (piece === COPY_NULL) nulls++;
    else {
      if (nulls > 0) {
        cols[p++] = runs[nulls] as string;
        nulls = 0;
      }
      cols[p++] = piece;
    }
  }
  nulls += width - next;
  if (nulls > 0) cols[p++] = runs[nulls] as string;
  return p;
}

/** fieldsInOrder for values whose keys come in another order: every field looked up by name. */
function fieldsByName(
  v: Record<string, unknown>,
  names: readonly string[],
  encoders: readonly CellEncoder[],
  runs: readonly string[],
  cols: string[],
  from: number,
): number {
  let p = from;
  let nulls = 0;
  for (let i = 0; i < names.length; i++) {
    const piece = (encoders[i] as CellEncoder)(v[names[i] as string]);
    if (piece === COPY_NULL) nulls++;
    else {
      if (nulls > 0) {
        cols[p++] = runs[nulls] as string;
        nulls = 0;
      }
      cols[p++] = piece;
    }
  }
  if (nulls > 0) cols[p++] = runs[nulls] as string;
  return p;
}

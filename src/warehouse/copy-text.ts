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

const encoderCache = new WeakMap<Catalog, { names: string[]; encoders: CellEncoder[] }>();

/** Encodes valid rows (with `key` and `hash` set) as COPY text for the staging table. Pure: no driver. */
export function encodeStaging(catalog: Catalog, batch: StageBatch, rows: readonly Row[]): EncodedStaging {
  let plan = encoderCache.get(catalog);
  if (!plan) {
    plan = { names: catalog.fields.map((f) => f.name), encoders: fieldEncoders(catalog.fields) };
    encoderCache.set(catalog, plan);
  }
  const { names, encoders } = plan;
  // Per-batch constant columns are escaped once.
  const prefix = `${copyEscape(batch.id)}\t${copyScalar(batch.county)}\t${copyScalar(batch.file)}\t${copyScalar(batch.sheet ?? null)}`;
  // One row's columns, reused row after row: join writes the line flat in one go (no chain of `+=`).
  const cols: string[] = new Array(names.length + 5);
  cols[0] = prefix;
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  const lines: string[] = new Array(rows.length);
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
    for (let i = 0; i < names.length; i++) cols[i + 5] = (encoders[i] as CellEncoder)(v[names[i] as string]);
    lines[r] = cols.join('\t');
  }
  return { text: rows.length ? `${lines.join('\n')}\n` : '', count: rows.length, lo, hi };
}

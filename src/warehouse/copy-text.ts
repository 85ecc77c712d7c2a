import type { FieldDef } from '../catalog/types.js';

/**
 * PostgreSQL COPY text format (the default format): columns separated by a tab, rows by a newline,
 * `\N` for NULL, and backslash, tab, newline and carriage return escaped with a backslash.
 * Arrays travel as array literals (`{"a","b"}`), escaped for the literal first and for COPY second.
 */
const COPY_SPECIAL = /[\\\t\n\r]/;
const COPY_SPECIAL_G = /[\\\t\n\r]/g;
const COPY_ESC: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
const ARRAY_SPECIAL_G = /["\\]/g;

export const COPY_NULL = '\\N';

export function copyEscape(s: string): string {
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
    else out += `"${String(it).replace(ARRAY_SPECIAL_G, '\\$&')}"`;
  }
  return copyEscape(`${out}}`);
}

export type CellEncoder = (v: unknown) => string;

/** One encoder per field, chosen once per catalog (not per cell). */
export function fieldEncoders(fields: readonly FieldDef[]): CellEncoder[] {
  return fields.map((f) => (f.sqlType.trim().endsWith('[]') ? copyArray : copyScalar));
}

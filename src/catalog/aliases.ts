import type { Catalog, FieldDef } from './types.js';

// Compiled once: header normalisation runs per header cell, but the patterns never change.
const INVISIBLE = /[\s\u200B-\u200D\u2060\uFEFF]+/gu;
const OPEN_BRACKETS = /[[{【〔〖「『]/gu;
const CLOSE_BRACKETS = /[\]}】〕〗」』]/gu;
const EDGE_MARKERS = /^[*★☆※#]+|[*★☆※:]+$/gu;
// Decorations clerks add to header cells that do not change which item is meant (domain.md §7.1).
const HINTS = /\((?:必填项?|选填项?|非必填|可选|必须填写|(?:单位:?)?万?元)\)/gu;

/**
 * The key a header cell and an alias are matched on: NFKC (full-width → ASCII, so `（` → `(`), no
 * whitespace, line breaks or zero-width characters, no `*`/`★`/`※` marks, no `(必填)`-style or unit
 * hints, one bracket style, upper-case (column codes come as `XK_WSH` and `xk_wsh`).
 */
export function normalizeHeader(text: string): string {
  let s = text.normalize('NFKC').replace(INVISIBLE, '');
  s = s.replace(OPEN_BRACKETS, '(').replace(CLOSE_BRACKETS, ')');
  s = s.replace(EDGE_MARKERS, '');
  s = s.replace(HINTS, '');
  s = s.replace(EDGE_MARKERS, '');
  return s.toUpperCase();
}

/** Every header spelling of a field: its title, its column code, its snake_case name and its aliases. */
export function headerSpellings(field: FieldDef): string[] {
  return [field.title, field.column, field.name, ...field.aliases];
}

/** Two fields of one catalog share a normalised header spelling. */
export class AliasConflictError extends Error {
  constructor(
    readonly key: string,
    readonly first: { field: string; spelling: string },
    readonly second: { field: string; spelling: string },
  ) {
    super(`"${first.spelling}" of ${first.field} and "${second.spelling}" of ${second.field} both normalise to ${key}`);
    this.name = 'AliasConflictError';
  }
}

/**
 * normalised header → field name, for one catalog. Throws an AliasConflictError when one
 * normalised spelling would name two fields; the loader calls it, so an ambiguous catalog never loads.
 */
export function buildAliasIndex(fields: readonly FieldDef[]): Map<string, string> {
  const index = new Map<string, { field: string; spelling: string }>();
  for (const f of fields) {
    for (const spelling of headerSpellings(f)) {
      const key = normalizeHeader(spelling);
      const other = index.get(key);
      if (other === undefined) index.set(key, { field: f.name, spelling });
      else if (other.field !== f.name) throw new AliasConflictError(key, other, { field: f.name, spelling });
    }
  }
  return new Map([...index].map(([k, v]) => [k, v.field]));
}

/** Convenience: the alias index of a loaded catalog. */
export function catalogAliasIndex(catalog: Catalog): Map<string, string> {
  return buildAliasIndex(catalog.fields);
}

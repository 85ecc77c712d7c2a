import { catalogAliasIndex, normalizeHeader } from '../src/catalog/aliases.js';
import type { Catalog, FieldDef } from '../src/catalog/types.js';
import type { CellValue, ColumnBinding } from '../src/types.js';

/** How many rows from the top a header is looked for in (title and note rows may sit above it). */
export const HEADER_SCAN_ROWS = 20;

const INVISIBLE = /[\s\u200B-\u200D\u2060\uFEFF]+/gu;

/** Normalised key of a header text, used for matching only (the original text is kept for the clerk). */
export const headerKey = normalizeHeader;

/** The money unit a header states, e.g. `罚款金额（元）` → 元, `罚款金额\n（万元）` → 万元. */
export function unitFromHeader(text: string): '元' | '万元' | undefined {
  const s = text.normalize('NFKC').replace(INVISIBLE, '');
  if (s.includes('万元')) return '万元';
  if (/(?:^|[(:/单位])元|元\)?$/u.test(s)) return '元';
  return undefined;
}

/** A catalog's header keys → field. */
export type HeaderIndex = ReadonlyMap<string, FieldDef>;

const indexCache = new WeakMap<Catalog, HeaderIndex>();

/**
 * Header key → field for one catalog, from the catalog's alias index (titles, column codes, names and
 * aliases; the loader refuses a catalog where one key would name two fields). Computed once per catalog.
 */
export function buildHeaderIndex(catalog: Catalog): HeaderIndex {
  const cached = indexCache.get(catalog);
  if (cached) return cached;
  const index = new Map<string, FieldDef>();
  for (const [key, name] of catalog.headerIndex ?? catalogAliasIndex(catalog)) {
    const field = catalog.byName.get(name);
    if (field) index.set(key, field);
  }
  indexCache.set(catalog, index);
  return index;
}

/** A header row bound to a catalog. */
export interface HeaderMatch {
  catalog: Catalog;
  /** Header texts by column index, as the file had them ('' for empty cells). */
  headers: string[];
  columns: ColumnBinding[];
  /** Non-empty header texts that bound no field (including later duplicates of a bound field). */
  unmatched: string[];
  /** Header texts that named a field already bound by an earlier column (subset of `unmatched`). */
  duplicates: string[];
  /** Distinct fields bound. */
  score: number;
}

export interface MatchOptions {
  /** Restrict matching to this catalog. */
  catalogId?: string;
  /** Accept a weaker match (the clerk named the header row, so it need not look like one). */
  minScore?: number;
}

/** A header cell as text: strings as they are, numbers and dates spelled out. */
export function headerText(cell: CellValue | undefined): string {
  if (cell === null || cell === undefined) return '';
  if (typeof cell === 'string') return cell.trim();
  if (cell instanceof Date) return Number.isNaN(cell.getTime()) ? '' : cell.toISOString().slice(0, 10);
  return String(cell);
}

function matchOne(catalog: Catalog, headers: string[], keys: string[]): HeaderMatch {
  const index = buildHeaderIndex(catalog);
  const columns: ColumnBinding[] = [];
  const unmatched: string[] = [];
  const duplicates: string[] = [];
  const bound = new Set<string>();
  for (let i = 0; i < headers.length; i++) {
    const header = headers[i] as string;
    const key = keys[i] as string;
    if (!key) continue;
    const field = index.get(key);
    if (!field) {
      unmatched.push(header);
      continue;
    }
    // Old templates split one list field over several columns (CF_CFLB1/CF_CFLB2); any other repeat is a mistake.
    if (bound.has(field.name) && field.clean !== 'enum-list') {
      unmatched.push(header);
      duplicates.push(header);
      continue;
    }
    bound.add(field.name);
    const binding: ColumnBinding = { index: i, header, field: field.name };
    if (field.clean === 'money') {
      const unit = unitFromHeader(header);
      if (unit) binding.unit = unit;
    }
    columns.push(binding);
  }
  return { catalog, headers, columns, unmatched, duplicates, score: bound.size };
}

/** Catalogs a match may choose from, after `--catalog`. */
export function candidateCatalogs(catalogs: readonly Catalog[], catalogId?: string): Catalog[] {
  return catalogId ? catalogs.filter((c) => c.id === catalogId) : [...catalogs];
}

/**
 * The catalog a header row belongs to, or null when the row does not look like a header of any.
 * Score = distinct fields bound; a row needs ≥ 3 of them, or ≥ 2 making ≥ 40% of its non-empty cells.
 * On a tie the catalog binding fewer columns it cannot use (fewer unmatched) wins, then catalog order.
 */
export function matchHeader(
  rowCells: readonly CellValue[],
  catalogs: readonly Catalog[],
  opts: MatchOptions = {},
): HeaderMatch | null {
  const headers = rowCells.map(headerText);
  // Trailing empty header cells are not columns.
  let last = headers.length;
  while (last > 0 && headers[last - 1] === '') last--;
  headers.length = last;
  const keys = headers.map((h) => (h ? headerKey(h) : ''));
  const nonEmpty = keys.reduce((n, k) => (k ? n + 1 : n), 0);
  if (nonEmpty === 0) return null;
  let best: HeaderMatch | null = null;
  for (const catalog of candidateCatalogs(catalogs, opts.catalogId)) {
    const m = matchOne(catalog, headers, keys);
    if (!best || m.score > best.score || (m.score === best.score && m.unmatched.length < best.unmatched.length)) {
      best = m;
    }
  }
  if (!best) return null;
  // --catalog restricts, but a header that plainly belongs to another catalog is not forced into this one.
  if (opts.catalogId !== undefined) {
    for (const other of catalogs) {
      if (other.id !== opts.catalogId && matchOne(other, headers, keys).score > best.score) return null;
    }
  }
  const min = opts.minScore;
  const enough =
    min !== undefined ? best.score >= min : best.score >= 3 || (best.score >= 2 && best.score / nonEmpty >= 0.4);
  return enough ? best : null;
}

export interface HeaderFound {
  /** 0-based index into the rows given (row number − 1 when rows start at row 1). */
  headerRowIndex: number;
  match: HeaderMatch;
}

export interface FindHeaderOptions extends MatchOptions {
  /** 1-based header row given by the clerk (`--header-row`); only that row is tried. */
  headerRow?: number;
}

/**
 * Finds the header among the first rows (rows[0] is row 1): the best-scoring row of the first
 * {@link HEADER_SCAN_ROWS}; on a tie the upper row. Title and note rows above it score nothing.
 */
export function findHeader(
  firstRows: readonly (readonly CellValue[])[],
  catalogs: readonly Catalog[],
  opts: FindHeaderOptions = {},
): HeaderFound | null {
  if (opts.headerRow !== undefined) {
    const i = opts.headerRow - 1;
    const row = firstRows[i];
    if (!row) return null;
    const match = matchHeader(row, catalogs, { ...opts, minScore: opts.minScore ?? 1 });
    return match ? { headerRowIndex: i, match } : null;
  }
  let found: HeaderFound | null = null;
  const n = Math.min(firstRows.length, HEADER_SCAN_ROWS);
  for (let i = 0; i < n; i++) {
    const match = matchHeader(firstRows[i] as CellValue[], catalogs, opts);
    if (match && (!found || match.score > found.match.score)) found = { headerRowIndex: i, match };
  }
  return found;
}

/** What headers were expected, for a NO_HEADER message: a few required titles per catalog. */
export function describeExpectedHeaders(catalogs: readonly Catalog[], perCatalog = 4): { zh: string; en: string } {
  const zh: string[] = [];
  const en: string[] = [];
  for (const c of catalogs) {
    const titles = c.fields.filter((f) => f.required).slice(0, perCatalog);
    zh.push(`${c.title}（如 ${titles.map((f) => `“${f.title}”`).join('、')}）`);
    en.push(`${c.id} (e.g. ${titles.map((f) => f.column).join(', ')})`);
  }
  return { zh: zh.join('；'), en: en.join('; ') };
}

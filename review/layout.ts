/**
 * The column layout of one rejected row: its batch's layout (review/workbook-layout.ts: stored headers in
 * file order, else cell keys in catalog order), plus any cell the headers do not cover (a ragged row).
 */
import type { Catalog } from '../src/catalog/types.js';
import type { CellValue, ColumnBinding } from '../src/types.js';
import { type LayoutColumn, layoutFromHeaders, layoutFromKeys } from './workbook-layout.js';

export type { LayoutColumn };

/** What a batch stored about its columns (batches.context), when it stored anything. */
export interface StoredColumns {
  headers?: readonly string[];
  columns?: readonly ColumnBinding[];
}

export function rowLayout(
  catalog: Catalog,
  stored: StoredColumns | undefined,
  cells: Readonly<Record<string, CellValue>>,
): LayoutColumn[] {
  const base =
    stored?.headers && stored.headers.length > 0
      ? layoutFromHeaders(catalog, stored.headers, stored.columns ?? [])
      : [];
  const known = new Set(base.map((c) => c.key));
  const extra = Object.keys(cells).filter((k) => !known.has(k));
  return extra.length > 0 ? [...base, ...layoutFromKeys(catalog, extra)] : base;
}

/** Keys of the columns holding a personal field (masked wherever a rejection is shown). */
export function personalKeys(layout: readonly LayoutColumn[]): Set<string> {
  return new Set(layout.filter((c) => c.field?.personal).map((c) => c.key));
}

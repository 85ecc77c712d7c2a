/** A rejection as the review page (and the API) shows it: in the file's column order, ID numbers masked. */
import type { Catalog } from '../src/catalog/types.js';
import { maskIdNumber } from '../src/identifiers/index.js';
import type { CellValue, Issue } from '../src/types.js';
import { maskRejectionContent, type RejectionRecord, rejectionFromRow } from '../src/warehouse/rejections.js';
import { type LayoutColumn, personalKeys } from './layout.js';

/** What the page shows: the stored row, masked, with the file's column order (no internal links). */
export interface RejectionView extends Omit<StoredRejection, 'lastBatchId'> {
  /** Cell keys in the file's column order (`cells[header]`). */
  headers: string[];
}

/** The columns of `rejections` a view is made of. */
export const REJECTION_COLUMNS = [
  'id',
  'batch_id',
  'catalog',
  'county',
  'file',
  'sheet',
  'row_number',
  'cells',
  'values',
  'issues',
  'status',
  'version',
  'resolved_by',
  'resolved_at',
  'reason',
  'fix_batch_id',
  'last_batch_id',
] as const;

/** A `rejections` row as read (jsonb parsed). Cells hold the ORIGINAL, unmasked values. */
export interface StoredRejection extends Omit<RejectionRecord, 'createdAt'> {
  version: number;
  resolvedBy: string | null;
  resolvedAt: Date | null;
  reason: string | null;
  fixBatchId: string | null;
  lastBatchId: string | null;
}

const _json = <T>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T;

export function toStored(r: Record<string, unknown>): StoredRejection {
  return {
    ...rejectionFromRow(r),
    version: Number(r.version ?? 0),
    resolvedBy: (r.resolved_by as string | null) ?? null,
    resolvedAt: r.resolved_at ? new Date(r.resolved_at as string | Date) : null,
    reason: (r.reason as string | null) ?? null,
    fixBatchId: (r.fix_batch_id as string | null) ?? null,
    lastBatchId: (r.last_batch_id as string | null) ?? null,
  };
}

export function personalFields(catalog: Catalog | undefined): Set<string> {
  return new Set(catalog?.fields.filter((f) => f.personal).map((f) => f.name) ?? []);
}

/**
 * The cells, values and issues as anyone may see them: the shared masking of src/warehouse/rejections.ts,
 * plus every cell of a personal column (a passport number is not ID-shaped but is still personal).
 */
export function maskedContent(
  s: Pick<StoredRejection, 'cells' | 'values' | 'issues'>,
  catalog: Catalog | undefined,
  layout: readonly LayoutColumn[],
): { cells: Record<string, CellValue>; values: Record<string, unknown>; issues: Issue[] } {
  const content = maskRejectionContent(
    structuredClone({ cells: s.cells, values: s.values, issues: s.issues }),
    personalFields(catalog),
  );
  maskCells(content.cells, personalKeys(layout));
  return content;
}

/** Masks, in place, the cells under personal keys (idempotent: a masked value masks to itself). */
export function maskCells(cells: Record<string, unknown>, keys: ReadonlySet<string>): Record<string, unknown> {
  for (const k of keys) {
    const v = cells[k];
    if ((typeof v === 'string' && v !== '') || typeof v === 'number') cells[k] = maskIdNumber(String(v));
  }
  return cells;
}

export function toView(
  s: StoredRejection,
  catalog: Catalog | undefined,
  layout: readonly LayoutColumn[],
): RejectionView {
  const { cells, values, issues } = maskedContent(s, catalog, layout);
  const shown: Record<string, CellValue> = {};
  for (const slot of layout) shown[slot.key] = cells[slot.key] ?? null;
  return {
    id: s.id,
    batchId: s.batchId,
    catalog: s.catalog,
    county: s.county,
    file: s.file,
    sheet: s.sheet,
    rowNumber: s.rowNumber,
    status: s.status,
    version: s.version,
    resolvedBy: s.resolvedBy,
    resolvedAt: s.resolvedAt,
    reason: s.reason,
    fixBatchId: s.fixBatchId,
    headers: layout.map((x) => x.key),
    cells: shown,
    issues,
    values,
  };
}

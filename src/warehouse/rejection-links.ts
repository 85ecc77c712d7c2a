/**
 * The rejection id round trip in the warehouse (issue 4): rows of a batch that carried the id of an
 * open rejection either load (the link is recorded; the rejection is resolved when the batch ends) or
 * fail again (the original rejection takes the new cells and issues instead of a new rejection row).
 * Every statement re-checks that the rejection is open and of the batch's catalog and county, so a
 * rejection closed meanwhile is never touched.
 */
import { maskIdNumber } from '../identifiers/index.js';
import type { CellValue, Issue } from '../types.js';
import { type AuditEntry, writeAudit } from './audit.js';
import type { Warehouse } from './open.js';
import { errorArray, type RejectionBatch } from './rejections.js';

/** What a row's rejection id must match: the batch's catalog and county. */
export interface LinkScope {
  catalog: string;
  county: string;
}

export interface LinkedRejection {
  id: number;
  batchId: string;
  catalog: string;
  county: string | null;
  status: string;
  cells: Record<string, CellValue>;
}

/** The rejections these ids name (any status; the caller decides what counts). */
export async function findRejections(wh: Warehouse, ids: readonly number[]): Promise<Map<number, LinkedRejection>> {
  const out = new Map<number, LinkedRejection>();
  const unique = [...new Set(ids)];
  for (let i = 0; i < unique.length; i += 5000) {
    const res = await wh.knex.raw(
      'SELECT id, batch_id, catalog, county, status, cells FROM rejections WHERE id = ANY(?::bigint[])',
      [unique.slice(i, i + 5000)],
    );
    for (const r of res.rows as Record<string, unknown>[]) {
      const id = Number(r.id);
      out.set(id, {
        id,
        batchId: r.batch_id as string,
        catalog: r.catalog as string,
        county: (r.county as string | null) ?? null,
        status: r.status as string,
        cells: (typeof r.cells === 'string' ? JSON.parse(r.cells) : r.cells) as Record<string, CellValue>,
      });
    }
  }
  return out;
}

/** True when a row of a batch in `scope` may resolve this rejection. */
export function linkable(r: LinkedRejection | undefined, scope: LinkScope, batchId: string): boolean {
  return (
    r !== undefined &&
    r.status === 'open' &&
    r.catalog === scope.catalog &&
    r.county === scope.county &&
    r.batchId !== batchId
  );
}

/**
 * Records loaded rows that carried a rejection id ([row number, rejection id]); ids that are not an
 * open rejection of the scope are dropped. Re-recording a row replaces its link (a retried chunk).
 */
export async function recordLinks(
  wh: Warehouse,
  batchId: string,
  scope: LinkScope,
  links: ReadonlyArray<readonly [number, number]>,
): Promise<number> {
  let n = 0;
  for (let i = 0; i < links.length; i += 5000) {
    const part = links.slice(i, i + 5000);
    const res = await wh.knex.raw(
      `INSERT INTO rejection_links (batch_id, row_number, rejection_id)
       SELECT ?, x.row_number, r.id
       FROM unnest(?::integer[], ?::bigint[]) AS x (row_number, rejection_id)
       JOIN rejections r ON r.id = x.rejection_id
       WHERE r.status = 'open' AND r.catalog = ? AND r.county = ? AND r.batch_id <> ?
       ON CONFLICT (batch_id, row_number) DO UPDATE SET rejection_id = excluded.rejection_id`,
      [batchId, part.map((l) => l[0]), part.map((l) => l[1]), scope.catalog, scope.county, batchId],
    );
    n += res.rowCount ?? 0;
  }
  return n;
}

/** A row rejected again, by header (the id column left out), for its original rejection. */
export interface Resubmission {
  rejectionId: number;
  rowNumber: number;
  cells: Record<string, CellValue>;
  values: Record<string, unknown>;
  issues: Issue[];
}

/**
 * Rows rejected again: each original rejection takes the row's cells, values and issues (version + 1,
 * last_batch_id = this batch) and stays open. Returns the row numbers applied; the others (the
 * rejection was closed meanwhile) are for the caller to save as new rejections.
 */
export async function resubmitRejections(
  wh: Warehouse,
  batch: RejectionBatch,
  items: readonly Resubmission[],
  actor: string,
): Promise<Set<number>> {
  const applied = new Set<number>();
  const audit: AuditEntry[] = [];
  for (const item of items) {
    const res = await wh.knex.raw(
      `UPDATE rejections r SET cells = ?::jsonb, values = ?::jsonb, issues = ?::jsonb, error_codes = ?::text[],
         error_fields = ?::text[], version = r.version + 1, last_batch_id = ?
       FROM rejections o
       WHERE o.id = r.id AND r.id = ? AND r.status = 'open' AND r.catalog = ? AND r.county = ? AND r.batch_id <> ?
       RETURNING o.cells AS old_cells, r.version`,
      [
        JSON.stringify(item.cells),
        JSON.stringify(item.values),
        JSON.stringify(item.issues),
        errorArray(item.issues, 'code'),
        errorArray(item.issues, 'field'),
        batch.id,
        item.rejectionId,
        batch.catalog,
        batch.county,
        batch.id,
      ],
    );
    const r = (res.rows as Record<string, unknown>[])[0];
    if (!r) continue;
    applied.add(item.rowNumber);
    const old = (typeof r.old_cells === 'string' ? JSON.parse(r.old_cells) : r.old_cells) as Record<string, CellValue>;
    const diff = changedCells(old, item.cells);
    audit.push({
      actor,
      action: 'fix-failed',
      entity: 'rejection',
      entityId: item.rejectionId,
      county: batch.county,
      oldValue: diff.old,
      newValue: diff.new,
      detail: {
        batchId: batch.id,
        file: batch.file,
        rowNumber: item.rowNumber,
        version: Number(r.version),
        errorCodes: errorArray(item.issues, 'code'),
      },
    });
  }
  await writeAudit(wh.knex, audit);
  return applied;
}

/**
 * The batch has ended: every open rejection one of its loaded rows carried becomes fixed by it, with
 * an audit row each. Returns the ids resolved.
 */
export async function resolveLinks(
  wh: Warehouse,
  batch: { id: string; file: string },
  resolvedBy: string,
): Promise<number[]> {
  const res = await wh.knex.raw(
    `UPDATE rejections r SET status = 'fixed', fix_batch_id = ?, resolved_by = ?, resolved_at = now(),
       version = r.version + 1
     FROM (SELECT rejection_id, min(row_number) AS row_number FROM rejection_links
           WHERE batch_id = ? GROUP BY rejection_id) l
     WHERE r.id = l.rejection_id AND r.status = 'open'
     RETURNING r.id, r.county, r.batch_id, r.version, l.row_number`,
    [batch.id, resolvedBy, batch.id],
  );
  const rows = res.rows as Record<string, unknown>[];
  await writeAudit(
    wh.knex,
    rows.map((r) => ({
      actor: resolvedBy,
      action: 'fix',
      entity: 'rejection' as const,
      entityId: Number(r.id),
      county: (r.county as string | null) ?? null,
      oldValue: { status: 'open' },
      newValue: { status: 'fixed', fixBatchId: batch.id },
      detail: {
        batchId: batch.id,
        file: batch.file,
        rowNumber: Number(r.row_number),
        originalBatchId: r.batch_id,
        version: Number(r.version),
        via: 'rejection-id',
      },
    })),
  );
  return rows.map((r) => Number(r.id));
}

const ID_LIKE = /^\s*(?:\d{17}[\dXx]|\d{15})\s*$/;

/** A cell as the audit log shows it: resident ID numbers masked (the log is shown on the page). */
function shown(v: CellValue | undefined): CellValue {
  if (v === undefined) return null;
  if ((typeof v === 'string' || typeof v === 'number') && ID_LIKE.test(String(v)))
    return maskIdNumber(String(v).trim());
  return v;
}

/** The cells that differ between two versions of a row (by header), old and new. */
export function changedCells(
  before: Record<string, CellValue>,
  after: Record<string, CellValue>,
): { old: Record<string, CellValue>; new: Record<string, CellValue> } {
  const out = { old: {} as Record<string, CellValue>, new: {} as Record<string, CellValue> };
  for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (JSON.stringify(before[k] ?? null) === JSON.stringify(after[k] ?? null)) continue;
    out.old[k] = shown(before[k]);
    out.new[k] = shown(after[k]);
  }
  return out;
}

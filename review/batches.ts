/** The batch ledger as the review page shows it: one county for a clerk, with each batch's open rejections. */
import type { Knex } from 'knex';
import {
  type BatchKind,
  type BatchRecord,
  type BatchStatus,
  batchCounts,
  getBatch,
  listBatches,
} from '../src/warehouse/batches.js';
import type { Warehouse } from '../src/warehouse/open.js';
import { assertVisible, countyScope } from './access.js';
import type { User } from './types.js';

export interface BatchView {
  id: string;
  file: string;
  sheet: string | null;
  catalog: string;
  county: string | null;
  kind: BatchKind;
  status: BatchStatus;
  total: number;
  inserted: number;
  updated: number;
  unchanged: number;
  duplicate: number;
  rejected: number;
  warnings: number;
  stageMs: Record<string, number>;
  startedAt: Date;
  finishedAt: Date | null;
  createdBy: string | null;
  /** Rejections of this batch still waiting for a fix or a discard (the batch's own counts never change). */
  openRejections: number;
}

export interface BatchListQuery {
  limit?: number;
  offset?: number;
  county?: string;
}

/**
 * The county a query may look at: a clerk's own (whatever it asked for), else what was asked.
 * `null` means the clerk asked for another county: nothing to show.
 */
export function scopedCounty(user: User, asked: string | undefined): string | undefined | null {
  const scope = countyScope(user);
  if (scope === null) return asked;
  return asked === undefined || asked === scope ? scope : null;
}

/** Batches newest first, with the total for paging. */
export async function listBatchViews(
  wh: Warehouse,
  user: User,
  q: BatchListQuery = {},
): Promise<{ items: BatchView[]; total: number }> {
  const county = scopedCounty(user, q.county);
  if (county === null) return { items: [], total: 0 };
  const [records, total] = await Promise.all([
    listBatches(wh, { limit: q.limit ?? 50, offset: q.offset ?? 0, county }),
    countBatches(wh.knex, county),
  ]);
  const open = await openRejectionCounts(
    wh.knex,
    records.map((b) => b.id),
  );
  return { items: records.map((b) => toView(b, open.get(b.id) ?? 0)), total };
}

/** One batch; 404 when it does not exist or the user may not see its county. */
export async function getBatchView(wh: Warehouse, user: User, id: string): Promise<BatchView> {
  const b = await getBatch(wh, id);
  assertVisible(user, b?.county ?? null, '批次', id);
  const rec = b as BatchRecord;
  const open = await openRejectionCounts(wh.knex, [rec.id]);
  return toView(rec, open.get(rec.id) ?? 0);
}

async function countBatches(knex: Knex, county: string | undefined): Promise<number> {
  const q = knex('batches').count<{ n: string | number }[]>({ n: '*' });
  if (county !== undefined) q.where('county', county);
  const [row] = await q;
  return Number(row?.n ?? 0);
}

/** Open rejections per batch (index rejections_batch_status_idx: an index-only count per batch). */
async function openRejectionCounts(knex: Knex, ids: readonly string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (ids.length === 0) return out;
  const rows = (await knex('rejections')
    .select('batch_id')
    .count({ n: '*' })
    .whereIn('batch_id', ids)
    .andWhere('status', 'open')
    .groupBy('batch_id')) as Array<{ batch_id: string; n: string | number }>;
  for (const r of rows) out.set(r.batch_id, Number(r.n));
  return out;
}

function toView(b: BatchRecord, openRejections: number): BatchView {
  return {
    id: b.id,
    file: b.file,
    sheet: b.sheet,
    catalog: b.catalog,
    county: b.county,
    kind: b.kind,
    status: b.status,
    ...batchCounts(b),
    stageMs: b.stageMs,
    startedAt: b.startedAt,
    finishedAt: b.finishedAt,
    createdBy: b.createdBy,
    openRejections,
  };
}

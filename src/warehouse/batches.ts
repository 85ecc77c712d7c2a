import type { OutcomeCounts } from '../types.js';
import type { Warehouse } from './open.js';

export type BatchStatus = 'running' | 'done' | 'failed';

export interface NewBatch {
  id: string;
  file: string;
  sheet?: string | null;
  catalog: string;
  county: string;
  fileSha256?: string | null;
}

export interface BatchFinish {
  counts: OutcomeCounts;
  total: number;
  warnings: number;
  /** Milliseconds per stage, e.g. { read: 812, clean: 301, load: 2210 }. */
  stageMs: Record<string, number>;
  /** Why a failed batch failed (for the ledger; not shown to clerks as is). */
  error?: string;
}

/** One ledger row. */
export interface BatchRecord extends OutcomeCounts {
  id: string;
  file: string;
  sheet: string | null;
  catalog: string;
  county: string | null;
  status: BatchStatus;
  total: number;
  warnings: number;
  stageMs: Record<string, number>;
  fileSha256: string | null;
  error: string | null;
  startedAt: Date;
  finishedAt: Date | null;
}

/** Opens a ledger entry (status running). Idempotent for the same id (a retried job re-opens it). */
export async function createBatch(wh: Warehouse, info: NewBatch): Promise<void> {
  await wh.knex.raw(
    `INSERT INTO batches (id, file, sheet, catalog, county, file_sha256, status)
     VALUES (?, ?, ?, ?, ?, ?, 'running')
     ON CONFLICT (id) DO UPDATE SET status = 'running', error = NULL, finished_at = NULL`,
    [info.id, info.file, info.sheet ?? null, info.catalog, info.county, info.fileSha256 ?? null],
  );
}

/** Closes a ledger entry with its counts and timings. */
export async function finishBatch(
  wh: Warehouse,
  id: string,
  summary: BatchFinish,
  status: Exclude<BatchStatus, 'running'>,
): Promise<void> {
  const c = summary.counts;
  await wh.knex.raw(
    `UPDATE batches SET status = ?, total = ?, inserted = ?, updated = ?, unchanged = ?, duplicate = ?,
       rejected = ?, warnings = ?, stage_ms = ?::jsonb, error = ?, finished_at = now()
     WHERE id = ?`,
    [
      status,
      summary.total,
      c.inserted,
      c.updated,
      c.unchanged,
      c.duplicate,
      c.rejected,
      summary.warnings,
      JSON.stringify(summary.stageMs),
      summary.error ?? null,
      id,
    ],
  );
}

const SELECT = `SELECT id, file, sheet, catalog, county, status, total, inserted, updated, unchanged, duplicate,
  rejected, warnings, stage_ms, file_sha256, error, started_at, finished_at FROM batches`;

function toRecord(r: Record<string, unknown>): BatchRecord {
  const n = (k: string) => Number(r[k] ?? 0);
  const stage = typeof r.stage_ms === 'string' ? JSON.parse(r.stage_ms) : r.stage_ms;
  return {
    id: r.id as string,
    file: r.file as string,
    sheet: (r.sheet as string | null) ?? null,
    catalog: r.catalog as string,
    county: (r.county as string | null) ?? null,
    status: r.status as BatchStatus,
    total: n('total'),
    inserted: n('inserted'),
    updated: n('updated'),
    unchanged: n('unchanged'),
    duplicate: n('duplicate'),
    rejected: n('rejected'),
    warnings: n('warnings'),
    stageMs: (stage ?? {}) as Record<string, number>,
    fileSha256: (r.file_sha256 as string | null) ?? null,
    error: (r.error as string | null) ?? null,
    startedAt: new Date(r.started_at as string | Date),
    finishedAt: r.finished_at ? new Date(r.finished_at as string | Date) : null,
  };
}

/** Most recent batches first. */
export async function listBatches(wh: Warehouse, opts: { limit?: number } = {}): Promise<BatchRecord[]> {
  const res = await wh.knex.raw(`${SELECT} ORDER BY started_at DESC, id DESC LIMIT ?`, [opts.limit ?? 50]);
  return (res.rows as Record<string, unknown>[]).map(toRecord);
}

export async function getBatch(wh: Warehouse, id: string): Promise<BatchRecord | undefined> {
  const res = await wh.knex.raw(`${SELECT} WHERE id = ?`, [id]);
  const r = (res.rows as Record<string, unknown>[])[0];
  return r ? toRecord(r) : undefined;
}

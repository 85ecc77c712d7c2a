import type { ColumnBinding, OutcomeCounts } from '../types.js';
import type { Warehouse } from './open.js';

export type BatchStatus = 'running' | 'staged' | 'done' | 'failed' | 'cancelled';

/** Where a batch came from: a file (CLI, inbox), a sync source, a fix from the review page, an upload. */
export type BatchKind = 'file' | 'sync' | 'fix' | 'upload';

export interface NewBatch {
  id: string;
  file: string;
  sheet?: string | null;
  catalog: string;
  county: string;
  fileSha256?: string | null;
  kind?: BatchKind;
  /** Who started it (a username; null for files dropped in the inbox or given to the CLI). */
  createdBy?: string | null;
  /** The stage context, kept so a rejection can be shown (and written back) in the file's column order. */
  context?: FrozenContext | null;
  /** The process running it in-process (`host:pid`, see src/owner.ts); null for the distributed executor. */
  owner?: string | null;
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
  /** Distributed runs: the request, the frozen stage context, the number of chunks once collected. */
  requestId: string | null;
  context: FrozenContext | null;
  chunksTotal: number | null;
  kind: BatchKind;
  createdBy: string | null;
}

/** A ledger row's counts: total, the five outcomes, warnings. */
export function batchCounts(
  b: BatchRecord,
): Pick<BatchRecord, 'total' | 'inserted' | 'updated' | 'unchanged' | 'duplicate' | 'rejected' | 'warnings'> {
  return {
    total: b.total,
    inserted: b.inserted,
    updated: b.updated,
    unchanged: b.unchanged,
    duplicate: b.duplicate,
    rejected: b.rejected,
    warnings: b.warnings,
  };
}

/** Opens a ledger entry (status running). Idempotent for the same id (a retried job re-opens it). */
export async function createBatch(wh: Warehouse, info: NewBatch): Promise<void> {
  await wh.knex.raw(
    `INSERT INTO batches (id, file, sheet, catalog, county, file_sha256, status, kind, created_by, context, owner)
     VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, ?::jsonb, ?)
     ON CONFLICT (id) DO UPDATE SET status = 'running', error = NULL, finished_at = NULL`,
    [
      info.id,
      info.file,
      info.sheet ?? null,
      info.catalog,
      info.county,
      info.fileSha256 ?? null,
      info.kind ?? 'file',
      info.createdBy ?? null,
      info.context ? JSON.stringify(info.context) : null,
      info.owner ?? null,
    ],
  );
}

/** The hash of the batch's file, once it has been read (the batch is created before). */
export async function setBatchFileSha(wh: Warehouse, id: string, sha256: string): Promise<void> {
  await wh.knex.raw('UPDATE batches SET file_sha256 = ? WHERE id = ?', [sha256, id]);
}

/**
 * Closes a running ledger entry with its counts and timings; false when it was no longer running.
 * 'staged' parks a held upload (counts = the predicted outcomes) until it is committed or cancelled.
 */
export async function finishBatch(
  wh: Warehouse,
  id: string,
  summary: BatchFinish,
  status: Exclude<BatchStatus, 'running'>,
): Promise<boolean> {
  const c = summary.counts;
  const res = await wh.knex.raw(
    `UPDATE batches SET status = ?, total = ?, inserted = ?, updated = ?, unchanged = ?, duplicate = ?,
       rejected = ?, warnings = ?, stage_ms = ?::jsonb, error = ?, finished_at = now()
     WHERE id = ? AND status = 'running'`,
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
  return (res.rowCount ?? 0) > 0;
}

/** A held upload is being committed: staged → running (false when it is not staged, e.g. committed already). */
export async function claimHeldBatch(wh: Warehouse, id: string): Promise<boolean> {
  const res = await wh.knex.raw(
    `UPDATE batches SET status = 'running', finished_at = NULL WHERE id = ? AND status = 'staged'`,
    [id],
  );
  return (res.rowCount ?? 0) > 0;
}

/** A held upload is dropped: staged → cancelled (false when it is not staged). Its counts stay as checked. */
export async function cancelStagedBatch(wh: Warehouse, id: string): Promise<boolean> {
  const res = await wh.knex.raw(
    `UPDATE batches SET status = 'cancelled', finished_at = now() WHERE id = ? AND status = 'staged'`,
    [id],
  );
  return (res.rowCount ?? 0) > 0;
}

/** The stage context a distributed batch's chunks all run with, frozen when the batch is opened. */
export interface FrozenContext {
  headers: string[];
  columns: ColumnBinding[];
  defaults: Record<string, string>;
  county: string;
  /** "Today" for the date rules, fixed for the whole batch. */
  today: string;
  headerRow?: number;
  encoding?: string;
}

/**
 * Opens the ledger entry of a distributed batch unless it exists (a re-run collect keeps the first
 * one's context), and returns what is stored.
 */
export async function openChunkedBatch(
  wh: Warehouse,
  info: NewBatch & { requestId: string; context: FrozenContext },
): Promise<BatchRecord> {
  await wh.knex.raw(
    `INSERT INTO batches (id, file, sheet, catalog, county, file_sha256, status, request_id, context, kind, created_by)
     VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?::jsonb, ?, ?) ON CONFLICT (id) DO NOTHING`,
    [
      info.id,
      info.file,
      info.sheet ?? null,
      info.catalog,
      info.county,
      info.fileSha256 ?? null,
      info.requestId,
      JSON.stringify(info.context),
      info.kind ?? 'file',
      info.createdBy ?? null,
    ],
  );
  const b = await getBatch(wh, info.id);
  if (!b) throw new Error(`batch ${info.id} vanished after insert`);
  return b;
}

/** Collecting is over: the batch has this many chunks and input rows. */
export async function setBatchCollected(wh: Warehouse, id: string, chunksTotal: number, total: number): Promise<void> {
  await wh.knex.raw(`UPDATE batches SET chunks_total = ?, total = ? WHERE id = ? AND status = 'running'`, [
    chunksTotal,
    total,
    id,
  ]);
}

/** The batches of a distributed request, in sheet order. */
export async function listRequestBatches(wh: Warehouse, requestId: string): Promise<BatchRecord[]> {
  const res = await wh.knex.raw(`${SELECT} WHERE request_id = ? ORDER BY id`, [requestId]);
  return (res.rows as Record<string, unknown>[]).map(toRecord);
}

const SELECT = `SELECT id, file, sheet, catalog, county, status, total, inserted, updated, unchanged, duplicate,
  rejected, warnings, stage_ms, file_sha256, error, started_at, finished_at, request_id, context, chunks_total,
  kind, created_by
  FROM batches`;

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
    requestId: (r.request_id as string | null) ?? null,
    context: (typeof r.context === 'string' ? JSON.parse(r.context) : r.context) ?? null,
    chunksTotal: r.chunks_total == null ? null : Number(r.chunks_total),
    kind: ((r.kind as string | null) ?? 'file') as BatchKind,
    createdBy: (r.created_by as string | null) ?? null,
  };
}

/** Most recent batches first; `county` keeps only that county's (the review page's clerk scope). */
export async function listBatches(
  wh: Warehouse,
  opts: { limit?: number; offset?: number; county?: string } = {},
): Promise<BatchRecord[]> {
  const where = opts.county !== undefined ? 'WHERE county = ?' : '';
  const params: string[] = opts.county !== undefined ? [opts.county] : [];
  const res = await wh.knex.raw(`${SELECT} ${where} ORDER BY started_at DESC, id DESC LIMIT ? OFFSET ?`, [
    ...params,
    opts.limit ?? 50,
    opts.offset ?? 0,
  ]);
  return (res.rows as Record<string, unknown>[]).map(toRecord);
}

export async function getBatch(wh: Warehouse, id: string): Promise<BatchRecord | undefined> {
  const res = await wh.knex.raw(`${SELECT} WHERE id = ?`, [id]);
  const r = (res.rows as Record<string, unknown>[])[0];
  return r ? toRecord(r) : undefined;
}

/**
 * Chunks of distributed batches. A chunk row is written (pending) before its job is enqueued and turns
 * `done` in the same transaction that stages its rows and stores its rejections, so after any crash
 * PostgreSQL says exactly which chunks still have to run.
 */
import type { Warehouse } from './open.js';

export interface ChunkRef {
  batchId: string;
  chunkNo: number;
}

export interface NewChunk extends ChunkRef {
  firstRow: number;
  lastRow: number;
  rows: number;
}

export interface ChunkDone extends ChunkRef {
  /** Rows the chunk held (a chunk of CSV bytes knows it only once split: its count at collect is an estimate). */
  rows: number;
  rejected: number;
  warnings: number;
  stageMs: Record<string, number>;
  worker: string;
  /** [row number, key print] of the rows it staged (pipelines/key-index.ts). */
  keyPrints?: Int32Array;
}

/** Records a chunk as pending (a second collect of the same chunk changes nothing). */
export async function addChunk(wh: Warehouse, c: NewChunk): Promise<void> {
  await wh.knex.raw(
    `INSERT INTO batch_chunks (batch_id, chunk_no, first_row, last_row, rows)
     VALUES (?, ?, ?, ?, ?) ON CONFLICT (batch_id, chunk_no) DO NOTHING`,
    [c.batchId, c.chunkNo, c.firstRow, c.lastRow, c.rows],
  );
}

export async function chunkStatus(wh: Warehouse, c: ChunkRef): Promise<'pending' | 'done' | undefined> {
  const res = await wh.knex.raw('SELECT status FROM batch_chunks WHERE batch_id = ? AND chunk_no = ?', [
    c.batchId,
    c.chunkNo,
  ]);
  return (res.rows as Array<{ status: 'pending' | 'done' }>)[0]?.status;
}

/** Locks a chunk row for the current transaction and tells its status (a second worker waits here). */
export async function lockChunk(trx: Warehouse, c: ChunkRef): Promise<'pending' | 'done' | undefined> {
  const res = await trx.knex.raw('SELECT status FROM batch_chunks WHERE batch_id = ? AND chunk_no = ? FOR UPDATE', [
    c.batchId,
    c.chunkNo,
  ]);
  return (res.rows as Array<{ status: 'pending' | 'done' }>)[0]?.status;
}

export async function markChunkDone(trx: Warehouse, c: ChunkDone): Promise<void> {
  await trx.knex.raw(
    `UPDATE batch_chunks SET status = 'done', rows = ?, rejected = ?, warnings = ?, stage_ms = ?::jsonb, worker = ?,
       key_prints = ?, done_at = now()
     WHERE batch_id = ? AND chunk_no = ?`,
    [
      c.rows,
      c.rejected,
      c.warnings,
      JSON.stringify(c.stageMs),
      c.worker,
      c.keyPrints ? printBytes(c.keyPrints) : null,
      c.batchId,
      c.chunkNo,
    ],
  );
}

/** Int32 pairs as stored: little-endian, whatever the machine. */
function printBytes(prints: Int32Array): Buffer {
  const out = Buffer.allocUnsafe(prints.length * 4);
  for (let i = 0; i < prints.length; i++) out.writeInt32LE(prints[i] as number, i * 4);
  return out;
}

/**
 * The key prints of a batch's done chunks, a page of chunks at a time in chunk order. Throws
 * MissingKeyPrints if a done chunk has none (done by a worker from before they were kept).
 */
export async function* chunkKeyPrints(wh: Warehouse, batchId: string, pageChunks = 50): AsyncGenerator<Int32Array> {
  let after = -1;
  for (;;) {
    const res = await wh.knex.raw(
      `SELECT chunk_no, key_prints FROM batch_chunks
       WHERE batch_id = ? AND status = 'done' AND chunk_no > ? ORDER BY chunk_no LIMIT ?`,
      [batchId, after, pageChunks],
    );
    const rows = res.rows as Array<{ chunk_no: number; key_prints: Uint8Array | null }>;
    if (rows.length === 0) return;
    for (const r of rows) {
      if (r.key_prints === null) throw new MissingKeyPrints();
      const b = Buffer.from(r.key_prints.buffer, r.key_prints.byteOffset, r.key_prints.byteLength);
      const prints = new Int32Array(b.length / 4);
      for (let i = 0; i < prints.length; i++) prints[i] = b.readInt32LE(i * 4);
      yield prints;
      after = Number(r.chunk_no);
    }
  }
}

/** A done chunk of the batch kept no key prints: its repeats must be found from staging instead. */
export class MissingKeyPrints extends Error {}

export async function pendingChunkCount(wh: Warehouse, batchId: string): Promise<number> {
  const res = await wh.knex.raw(
    `SELECT count(*)::int AS n FROM batch_chunks WHERE batch_id = ? AND status = 'pending'`,
    [batchId],
  );
  return Number((res.rows as Array<{ n: number }>)[0]?.n ?? 0);
}

/** Pending chunks of running batches (what must be in the queue), oldest batches first. */
export async function listPendingChunks(wh: Warehouse, limit = 10_000): Promise<ChunkRef[]> {
  const res = await wh.knex.raw(
    `SELECT c.batch_id, c.chunk_no FROM batch_chunks c JOIN batches b ON b.id = c.batch_id
     WHERE c.status = 'pending' AND b.status = 'running'
     ORDER BY b.started_at, c.batch_id, c.chunk_no LIMIT ?`,
    [limit],
  );
  return (res.rows as Array<{ batch_id: string; chunk_no: number }>).map((r) => ({
    batchId: r.batch_id,
    chunkNo: Number(r.chunk_no),
  }));
}

/** Running batches whose every chunk is collected and done: ready for the merge. */
export async function listBatchesToFinalize(wh: Warehouse, limit = 1000): Promise<string[]> {
  const res = await wh.knex.raw(
    `SELECT b.id FROM batches b
     WHERE b.status = 'running' AND b.chunks_total IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM batch_chunks c WHERE c.batch_id = b.id AND c.status = 'pending')
     ORDER BY b.started_at LIMIT ?`,
    [limit],
  );
  return (res.rows as Array<{ id: string }>).map((r) => r.id);
}

export interface ChunkTotals {
  chunks: number;
  done: number;
  rows: number;
  rowsDone: number;
  rejected: number;
  warnings: number;
  stageMs: Record<string, number>;
}

/** Sums over a batch's chunks (the rejected and warning counts of the ledger, progress, timings). */
export async function chunkTotals(wh: Warehouse, batchId: string): Promise<ChunkTotals> {
  const res = await wh.knex.raw(
    `SELECT count(*)::int AS chunks, count(*) FILTER (WHERE status = 'done')::int AS done,
            coalesce(sum(rows), 0)::bigint AS rows,
            coalesce(sum(rows) FILTER (WHERE status = 'done'), 0)::bigint AS rows_done,
            coalesce(sum(rejected), 0)::bigint AS rejected, coalesce(sum(warnings), 0)::bigint AS warnings,
            jsonb_agg(stage_ms) FILTER (WHERE status = 'done') AS stage_ms
     FROM batch_chunks WHERE batch_id = ?`,
    [batchId],
  );
  const r = (res.rows as Record<string, unknown>[])[0] ?? {};
  const stageMs: Record<string, number> = {};
  const list = (typeof r.stage_ms === 'string' ? JSON.parse(r.stage_ms) : r.stage_ms) as Array<
    Record<string, number>
  > | null;
  for (const m of list ?? []) for (const [k, v] of Object.entries(m)) stageMs[k] = (stageMs[k] ?? 0) + v;
  return {
    chunks: Number(r.chunks ?? 0),
    done: Number(r.done ?? 0),
    rows: Number(r.rows ?? 0),
    rowsDone: Number(r.rows_done ?? 0),
    rejected: Number(r.rejected ?? 0),
    warnings: Number(r.warnings ?? 0),
    stageMs,
  };
}

/** Rows collected and rows done over the running batches of a request (what a following client shows). */
export async function requestChunkProgress(
  wh: Warehouse,
  requestId: string,
): Promise<{ rows: number; rowsDone: number }> {
  const res = await wh.knex.raw(
    `SELECT coalesce(sum(c.rows), 0)::bigint AS rows,
            coalesce(sum(c.rows) FILTER (WHERE c.status = 'done'), 0)::bigint AS rows_done
     FROM batch_chunks c JOIN batches b ON b.id = c.batch_id
     WHERE b.request_id = ? AND b.status = 'running'`,
    [requestId],
  );
  const r = (res.rows as Array<Record<string, unknown>>)[0] ?? {};
  return { rows: Number(r.rows ?? 0), rowsDone: Number(r.rows_done ?? 0) };
}

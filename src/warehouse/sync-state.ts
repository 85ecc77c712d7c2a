/**
 * Per sync source: the cursor up to which the warehouse holds the source's rows, and the sync's health.
 * The cursor moves only in the transaction that closes the batch covering it, so a crash at any point
 * leaves the cursor where the data is.
 */
import type { Warehouse } from './open.js';

export interface SyncState {
  source: string;
  cursor: string | null;
  lastAttemptAt: Date | null;
  lastSuccessAt: Date | null;
  lastBatchId: string | null;
  lastRows: number | null;
  failures: number;
  lastError: string | null;
}

export async function getSyncState(wh: Warehouse, source: string): Promise<SyncState | undefined> {
  const res = await wh.knex.raw('SELECT * FROM sync_state WHERE source = ?', [source]);
  const r = (res.rows as Record<string, unknown>[])[0];
  return r ? toState(r) : undefined;
}

export async function listSyncStates(wh: Warehouse): Promise<SyncState[]> {
  const res = await wh.knex.raw('SELECT * FROM sync_state ORDER BY source');
  return (res.rows as Record<string, unknown>[]).map(toState);
}

function toState(r: Record<string, unknown>): SyncState {
  const d = (v: unknown) => (v ? new Date(v as string) : null);
  return {
    source: r.source as string,
    cursor: (r.cursor as string | null) ?? null,
    lastAttemptAt: d(r.last_attempt_at),
    lastSuccessAt: d(r.last_success_at),
    lastBatchId: (r.last_batch_id as string | null) ?? null,
    lastRows: r.last_rows == null ? null : Number(r.last_rows),
    failures: Number(r.failures ?? 0),
    lastError: (r.last_error as string | null) ?? null,
  };
}

/** A sync run started (health: last attempt). */
export async function recordSyncAttempt(wh: Warehouse, source: string): Promise<void> {
  await wh.knex.raw(
    `INSERT INTO sync_state (source, last_attempt_at) VALUES (?, now())
     ON CONFLICT (source) DO UPDATE SET last_attempt_at = now()`,
    [source],
  );
}

/** A sync run ended well: move the cursor (null: nothing new, keep it) and reset the failure count. */
export async function commitSyncCursor(
  wh: Warehouse,
  source: string,
  run: { cursor: string | null; batchId: string | null; rows: number },
): Promise<void> {
  await wh.knex.raw(
    `INSERT INTO sync_state (source, cursor, last_attempt_at, last_success_at, last_batch_id, last_rows, failures)
     VALUES (?, ?, now(), now(), ?, ?, 0)
     ON CONFLICT (source) DO UPDATE SET cursor = coalesce(excluded.cursor, sync_state.cursor),
       last_success_at = now(), last_batch_id = coalesce(excluded.last_batch_id, sync_state.last_batch_id),
       last_rows = excluded.last_rows, failures = 0, last_error = NULL`,
    [source, run.cursor, run.batchId, run.rows],
  );
}

export async function recordSyncFailure(wh: Warehouse, source: string, error: string): Promise<void> {
  await wh.knex.raw(
    `INSERT INTO sync_state (source, last_attempt_at, failures, last_error) VALUES (?, now(), 1, ?)
     ON CONFLICT (source) DO UPDATE SET failures = sync_state.failures + 1, last_error = excluded.last_error`,
    [source, error],
  );
}

/**
 * Ingest requests (distributed mode): one per submitted file or sync run. The request is the unit a
 * client follows; its batches (one per sheet) point back to it. Status only moves forward.
 */
import type { Warehouse } from './open.js';

export type RequestStatus = 'queued' | 'collecting' | 'collected' | 'done' | 'failed';
export type RequestKind = 'file' | 'sync';

/** What the reader of a request's file or source needs besides the file itself. */
export interface RequestOptions {
  county?: string;
  sheet?: string;
  headerRow?: number;
  encoding?: string;
  catalogId?: string;
  /** Sync runs: the source, and the cursor window this run reads (fixed when the run starts). */
  source?: string;
  after?: string | null;
  upTo?: string | null;
}

/** Why a request (or part of it) could not be ingested, as the clerk and the logs see it. */
export interface RequestError {
  code: string;
  kind: string;
  zh: string;
  en: string;
  details?: Record<string, unknown>;
}

export interface IngestRequest {
  id: string;
  kind: RequestKind;
  /** File name (display only) or source name. */
  name: string;
  spoolPath: string | null;
  fileSha256: string | null;
  options: RequestOptions;
  status: RequestStatus;
  error: RequestError | null;
  skipped: Array<{ sheet?: string; code: string; zh: string; en: string }>;
  createdAt: Date;
  finishedAt: Date | null;
}

const ORDER: Record<RequestStatus, number> = { queued: 0, collecting: 1, collected: 2, done: 3, failed: 3 };

export async function createRequest(
  wh: Warehouse,
  r: Pick<IngestRequest, 'id' | 'kind' | 'name' | 'spoolPath' | 'fileSha256' | 'options'>,
): Promise<void> {
  await wh.knex.raw(
    `INSERT INTO ingest_requests (id, kind, name, spool_path, file_sha256, options)
     VALUES (?, ?, ?, ?, ?, ?::jsonb) ON CONFLICT (id) DO NOTHING`,
    [r.id, r.kind, r.name, r.spoolPath, r.fileSha256, JSON.stringify(r.options)],
  );
}

function toRequest(r: Record<string, unknown>): IngestRequest {
  const json = <T>(v: unknown, dflt: T): T => (v == null ? dflt : typeof v === 'string' ? JSON.parse(v) : (v as T));
  return {
    id: r.id as string,
    kind: r.kind as RequestKind,
    name: r.name as string,
    spoolPath: (r.spool_path as string | null) ?? null,
    fileSha256: (r.file_sha256 as string | null) ?? null,
    options: json(r.options, {}),
    status: r.status as RequestStatus,
    error: json(r.error, null),
    skipped: json(r.skipped, []),
    createdAt: new Date(r.created_at as string),
    finishedAt: r.finished_at ? new Date(r.finished_at as string) : null,
  };
}

export async function getRequest(wh: Warehouse, id: string): Promise<IngestRequest | undefined> {
  const res = await wh.knex.raw('SELECT * FROM ingest_requests WHERE id = ?', [id]);
  const row = (res.rows as Record<string, unknown>[])[0];
  return row ? toRequest(row) : undefined;
}

/**
 * Moves a request forward (never back: a late, retried job cannot reopen a finished request).
 * Returns false when the request was already at or past `status`.
 */
export async function advanceRequest(
  wh: Warehouse,
  id: string,
  status: RequestStatus,
  extra: { error?: RequestError | null; skipped?: IngestRequest['skipped'] } = {},
): Promise<boolean> {
  const earlier = (Object.keys(ORDER) as RequestStatus[]).filter((s) => ORDER[s] < ORDER[status]);
  const sets = ['status = ?', 'updated_at = now()'];
  const binds: Array<string | null> = [status];
  if (extra.error !== undefined) {
    sets.push('error = ?::jsonb');
    binds.push(extra.error === null ? null : JSON.stringify(extra.error));
  }
  if (extra.skipped !== undefined) {
    sets.push('skipped = ?::jsonb');
    binds.push(JSON.stringify(extra.skipped));
  }
  if (status === 'done' || status === 'failed') sets.push('finished_at = now()');
  const res = await wh.knex.raw(
    `UPDATE ingest_requests SET ${sets.join(', ')} WHERE id = ? AND status = ANY(?::text[])`,
    [...binds, id, earlier],
  );
  return (res.rowCount ?? 0) > 0;
}

/** Requests not yet collected (their collect job must exist), oldest first. */
export async function listUncollectedRequests(wh: Warehouse, limit = 1000): Promise<string[]> {
  const res = await wh.knex.raw(
    `SELECT id FROM ingest_requests WHERE status IN ('queued', 'collecting') ORDER BY created_at LIMIT ?`,
    [limit],
  );
  return (res.rows as Array<{ id: string }>).map((r) => r.id);
}

/** Collected requests whose batches have all ended: they can be marked done. */
export async function listSettledRequests(wh: Warehouse, limit = 1000): Promise<string[]> {
  const res = await wh.knex.raw(
    `SELECT r.id FROM ingest_requests r
     WHERE r.status = 'collected'
       AND NOT EXISTS (SELECT 1 FROM batches b WHERE b.request_id = r.id AND b.status = 'running')
     ORDER BY r.created_at LIMIT ?`,
    [limit],
  );
  return (res.rows as Array<{ id: string }>).map((r) => r.id);
}

/** Finished batches that already hold these exact bytes (the inbox's "same file twice"). */
export async function batchesWithSha(wh: Warehouse, sha256: string): Promise<Array<{ id: string; status: string }>> {
  const res = await wh.knex.raw(
    `SELECT id, status FROM batches WHERE file_sha256 = ? AND status <> 'failed' ORDER BY started_at, id`,
    [sha256],
  );
  return res.rows as Array<{ id: string; status: string }>;
}

/** The unfinished run of a sync source, if any (a new run waits for it instead of starting a second). */
export async function findOpenSyncRequest(wh: Warehouse, source: string): Promise<string | undefined> {
  const res = await wh.knex.raw(
    `SELECT id FROM ingest_requests
     WHERE kind = 'sync' AND name = ? AND status IN ('queued', 'collecting', 'collected')
     ORDER BY created_at LIMIT 1`,
    [source],
  );
  return (res.rows as Array<{ id: string }>)[0]?.id;
}

/** Requests waiting for a worker to open their batches (shown as queued by `guiji batches`). */
export async function listQueuedRequests(wh: Warehouse, limit = 100): Promise<IngestRequest[]> {
  const res = await wh.knex.raw(
    `SELECT r.* FROM ingest_requests r
     WHERE r.status IN ('queued', 'collecting') AND NOT EXISTS (SELECT 1 FROM batches b WHERE b.request_id = r.id)
     ORDER BY r.created_at LIMIT ?`,
    [limit],
  );
  return (res.rows as Record<string, unknown>[]).map(toRequest);
}

/** Following a submitted request until its batches end, for `guiji ingest` in distributed mode. */
import { setTimeout as sleep } from 'node:timers/promises';
import { isTransient } from '../../src/errors.js';
import type { BatchSummary } from '../../src/types.js';
import { type BatchRecord, batchCounts, listRequestBatches } from '../../src/warehouse/batches.js';
import { requestChunkProgress } from '../../src/warehouse/chunks.js';
import type { Warehouse } from '../../src/warehouse/open.js';
import { getRequest, type IngestRequest } from '../../src/warehouse/requests.js';

export interface RequestProgress {
  request: IngestRequest;
  batches: BatchRecord[];
  /** Rows whose chunk is done, over all batches. */
  rowsDone: number;
  /** Rows collected so far. */
  rowsSeen: number;
}

export interface FollowOptions {
  pollMs?: number;
  onTick?: (p: RequestProgress) => void | Promise<void>;
  signal?: AbortSignal;
  /** The database could not be reached this time (following goes on). */
  onOutage?: (e: Error) => void;
}

/** Polls PostgreSQL (the source of truth) until the request is done or failed. */
export async function followRequest(
  wh: Warehouse,
  requestId: string,
  opts: FollowOptions = {},
): Promise<RequestProgress> {
  const pollMs = opts.pollMs ?? 1000;
  let outage = 0;
  for (;;) {
    opts.signal?.throwIfAborted();
    let progress: RequestProgress;
    try {
      progress = await readProgress(wh, requestId);
      outage = 0;
    } catch (e) {
      // The database away for a while is not the end of the batch: the workers retry, so do we.
      if (!isTransient(e) || ++outage * pollMs > 10 * 60_000) throw e;
      opts.onOutage?.(e as Error);
      await sleep(pollMs, undefined, { signal: opts.signal });
      continue;
    }
    if (progress.request.status === 'done' || progress.request.status === 'failed') return progress;
    await opts.onTick?.(progress);
    await sleep(pollMs, undefined, { signal: opts.signal });
  }
}

async function readProgress(wh: Warehouse, requestId: string): Promise<RequestProgress> {
  const request = await getRequest(wh, requestId);
  if (!request) throw new Error(`request ${requestId} does not exist`);
  const batches = await listRequestBatches(wh, requestId);
  // Finished batches count whole; running ones by their done chunks (one query for all of them).
  const running = await requestChunkProgress(wh, requestId);
  let rowsDone = running.rowsDone;
  let rowsSeen = running.rows;
  for (const b of batches) {
    if (b.status === 'running') continue;
    rowsDone += b.total;
    rowsSeen += b.total;
  }
  return { request, batches, rowsDone, rowsSeen };
}

/** The `--json` line of a finished batch (DESIGN.md §3). */
export function batchSummary(b: BatchRecord, submittedAt: Date): BatchSummary {
  return {
    batchId: b.id,
    file: b.file,
    sheet: b.sheet,
    catalog: b.catalog,
    county: b.county ?? '',
    ...batchCounts(b),
    durationMs: Math.max(0, (b.finishedAt ?? new Date()).getTime() - submittedAt.getTime()),
  };
}

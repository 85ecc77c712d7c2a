/**
 * The client side of distributed mode: submit a file, then follow its request in PostgreSQL until its
 * batches end, while watching that some worker is consuming the queues.
 */
import { batchSummary, followRequest, type RequestProgress } from '../pipelines/distributed/follow.js';
import { submitFile } from '../pipelines/distributed/submit.js';
import type { Context } from '../src/context.js';
import { GuijiError, inputError } from '../src/errors.js';
import type { ReadOptions } from '../src/source.js';
import { makeSpool } from '../src/spool.js';
import type { BatchSummary } from '../src/types.js';
import type { Queues } from './queues.js';

export interface DistributedFileResult {
  file: string;
  requestId: string;
  summaries: BatchSummary[];
  skipped: Array<{ sheet?: string; code: string; zh: string; en: string }>;
  /** The file (or a sheet) could not be used: exit code 2. */
  error?: GuijiError;
  /** Batches that failed inside the workers (a bug or a lost chunk): exit code 1. */
  failed: Array<{ batchId: string; error: string }>;
}

export interface FollowHooks {
  onProgress?: (p: RequestProgress) => void;
  /** Called when no worker has been seen on the queues for a while (and again every minute). */
  onNoWorker?: () => void;
}

export async function ingestDistributed(
  ctx: Context,
  queues: Queues,
  file: string,
  opts: ReadOptions & { county?: string },
  hooks: FollowHooks = {},
): Promise<DistributedFileResult> {
  const spool = makeSpool(ctx.config.distributed.spool);
  const { requestId } = await submitFile(
    { warehouse: ctx.db, spool, clock: ctx.clock, enqueue: queues.enqueue },
    file,
    {
      county: opts.county,
      sheet: opts.sheet,
      headerRow: opts.headerRow,
      encoding: opts.encoding,
      catalogId: opts.catalogId,
    },
    opts.displayName,
  );
  let lastWorkerCheck = 0;
  let lastWarned = 0;
  const end = await followRequest(ctx.db, requestId, {
    onTick: async (p) => {
      hooks.onProgress?.(p);
      const now = Date.now();
      if (now - lastWorkerCheck < 2000) return;
      lastWorkerCheck = now;
      const workers = await queues.queues.chunk.getWorkersCount().catch(() => -1);
      if (workers === 0 && now - lastWarned > 60_000) {
        lastWarned = now;
        hooks.onNoWorker?.();
      }
    },
  });
  const { request, batches } = end;
  const result: DistributedFileResult = {
    file,
    requestId,
    summaries: [],
    skipped: request.skipped,
    failed: [],
  };
  for (const b of batches) {
    if (b.status === 'done') result.summaries.push(batchSummary(b, request.createdAt));
    else result.failed.push({ batchId: b.id, error: b.error ?? 'failed' });
  }
  if (request.error) {
    const e = request.error;
    result.error =
      e.kind === 'input' || e.kind === 'config'
        ? inputError(e.code, e.zh, e.en, e.details)
        : new GuijiError('internal', e.code, e.zh, e.en, e.details);
  }
  return result;
}

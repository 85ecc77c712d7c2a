/**
 * A guiji worker process: BullMQ workers for every queue, running the batch flow of
 * pipelines/distributed, plus the reconciler that puts unfinished work (as PostgreSQL records it) back
 * into the queues. Error policy (DESIGN.md §7): infrastructure errors are retried with backoff; an
 * unusable file fails its request at once (UnrecoverableError) with the reason stored for stewards; a
 * bug fails the batch (UnrecoverableError); bad rows are never errors.
 */
import { hostname } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { type Job, type Processor, UnrecoverableError, Worker } from 'bullmq';
import type { ChunkOutput } from '../pipelines/chunk-runner.js';
import type { ChunkTask } from '../pipelines/chunk-worker.js';
import { collectRequest, toRequestError } from '../pipelines/distributed/collect.js';
import type { FlowDeps } from '../pipelines/distributed/deps.js';
import { failBatch, failRequest, finalizeBatch } from '../pipelines/distributed/finalize.js';
import { makeChunkProcessor } from '../pipelines/distributed/process-chunk.js';
import { reconcile } from '../pipelines/distributed/reconcile.js';
import { startSyncRun } from '../pipelines/distributed/sync-run.js';
import { type GuijiError, internalError, isGuijiError, isTransient } from '../src/errors.js';
import { makeThreadPool } from '../src/executors/thread-pool.js';
import type { Logger } from '../src/types.js';
import { getRequest } from '../src/warehouse/requests.js';
import { recordSyncFailure } from '../src/warehouse/sync-state.js';
import type { Queues } from './queues.js';
import { backoffMs, type JobPayloads, type QueueName } from './registry.js';

export interface WorkerOptions {
  /** Chunk jobs run at once in this process (default 2: one computes while the other writes). */
  concurrency?: number;
  /** Run the reconciler (default true). */
  reconcile?: boolean;
}

/** What a worker did, and the longest its event loop was blocked (lock renewal runs on it). */
export interface WorkerStats {
  worker: string;
  lockMs: number;
  maxEventLoopDelayMs: number;
  p99EventLoopDelayMs: number;
  jobs: Record<QueueName, { jobs: number; maxMs: number }>;
}

export interface RunningWorker {
  /** Finishes the jobs in hand (or, with force, gives them back), then closes the workers. */
  close(force?: boolean): Promise<WorkerStats>;
  /** Resolves once every BullMQ worker is connected and waiting for jobs. */
  ready: Promise<void>;
  workerName: string;
}

export function workerName(): string {
  return `${hostname()}-${process.pid}`;
}

export function startWorker(
  base: Omit<FlowDeps, 'enqueue' | 'worker'>,
  queues: Queues,
  opts: WorkerOptions = {},
): RunningWorker {
  const name = workerName();
  const deps: FlowDeps = { ...base, enqueue: queues.enqueue, worker: name };
  const { lockMs, reconcileMs, queuePrefix } = base.config.distributed;
  // The row stages run in worker threads ($GUIJI_THREADS, default one per core; 0 = in this thread), which
  // read the chunk files themselves: this thread keeps its event loop for lock renewal and I/O. A worker is
  // a long-running service without the CLI's 300 MB cap: its threads get a 16 MB young generation, which
  // costs ~10–15 MB each and saves ~15 % of their CPU (bench/CHOICES.md).
  const threads =
    base.config.threads > 0
      ? makeThreadPool<ChunkTask, ChunkOutput>(new URL('../pipelines/chunk-worker.js', import.meta.url), {
          threads: base.config.threads,
          youngMb: 16,
        })
      : undefined;
  const processChunk = makeChunkProcessor(deps, threads);

  const processors: { [Q in QueueName]: (job: Job<JobPayloads[Q]>, log: Logger) => Promise<unknown> } = {
    collect: async (job, log) => {
      const { requestId } = job.data;
      try {
        const r = await collectRequest({ ...deps, logger: log }, requestId);
        if (r.status === 'failed') throw new UnrecoverableError(r.error?.message ?? 'request failed');
        return r;
      } catch (e) {
        if (e instanceof UnrecoverableError) throw e;
        if (isTransient(e)) {
          // A source (or the warehouse) away: retried with backoff; sync health counts the failed attempt.
          await noteSyncAttemptFailed(deps, requestId, (e as Error).message).catch(() => {});
          throw e;
        }
        const err = asGuijiError(e);
        log.error({ err: e, code: err.code }, 'collect failed: bug');
        await failRequest(deps, requestId, toRequestError(err));
        throw new UnrecoverableError(err.message);
      }
    },
    chunk: async (job) => {
      const { batchId, chunkNo } = job.data;
      try {
        return await processChunk(batchId, chunkNo);
      } catch (e) {
        if (isTransient(e)) throw e;
        await failBatch(deps, batchId, (e as Error).message);
        throw new UnrecoverableError((e as Error).message);
      }
    },
    finalize: async (job, log) => {
      const { batchId } = job.data;
      try {
        return await finalizeBatch({ ...deps, logger: log }, batchId);
      } catch (e) {
        if (isTransient(e)) throw e;
        log.error({ err: e }, 'finalize failed');
        await failBatch(deps, batchId, (e as Error).message);
        throw new UnrecoverableError((e as Error).message);
      }
    },
    sync: async (job, log) => {
      try {
        return await startSyncRun({ ...deps, logger: log }, job.data.source);
      } catch (e) {
        if (isTransient(e)) throw e;
        throw new UnrecoverableError((e as Error).message);
      }
    },
  };

  const concurrency: Record<QueueName, number> = {
    collect: 1,
    chunk: Math.max(1, opts.concurrency ?? 2),
    finalize: 1,
    sync: 1,
  };
  // Lock renewal runs on this event loop: the longest block it saw is what could starve it (logged at close).
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const stats = Object.fromEntries(
    (Object.keys(processors) as QueueName[]).map((q) => [q, { jobs: 0, maxMs: 0 }]),
  ) as Record<QueueName, { jobs: number; maxMs: number }>;
  const report = (): WorkerStats => {
    loopDelay.disable();
    const out: WorkerStats = {
      worker: name,
      lockMs,
      maxEventLoopDelayMs: Math.round(loopDelay.max / 1e6),
      p99EventLoopDelayMs: Math.round(loopDelay.percentile(99) / 1e6),
      jobs: stats,
    };
    base.logger.info(out, 'worker stopped');
    return out;
  };
  const workers = (Object.keys(processors) as QueueName[]).map((q) => {
    const run = processors[q] as (job: Job, log: Logger) => Promise<unknown>;
    const processor: Processor = async (job) => {
      const log = base.logger.child({ stage: q, jobId: job.id, attempt: job.attemptsMade + 1, ...job.data });
      const t0 = performance.now();
      const result = await run(job, log);
      const ms = performance.now() - t0;
      stats[q].jobs++;
      stats[q].maxMs = Math.max(stats[q].maxMs, ms);
      log.debug({ ms: Math.round(ms) }, 'job done');
      return result;
    };
    const w = new Worker(q, processor, {
      connection: queues.connection,
      prefix: queuePrefix,
      name,
      concurrency: concurrency[q],
      lockDuration: lockMs,
      stalledInterval: lockMs,
      // A worker killed mid-job leaves a stalled job; another worker takes it over (idempotent steps).
      maxStalledCount: 10,
      settings: { backoffStrategy: (attemptsMade: number) => backoffMs(attemptsMade) },
      removeOnComplete: { count: 0 },
      removeOnFail: { age: 24 * 3600, count: 1000 },
    });
    w.on('failed', (job, err) => {
      base.logger.warn({ stage: q, jobId: job?.id, attempts: job?.attemptsMade, err: err.message }, 'job failed');
    });
    w.on('error', (err) => base.logger.warn({ stage: q, err: err.message }, 'worker connection problem'));
    return w;
  });

  let reconciling = false;
  const runReconcile = async () => {
    if (reconciling) return;
    reconciling = true;
    try {
      const r = await reconcile({ ...deps, enqueue: queues.requeue });
      if (r.collect + r.chunks + r.finalize + r.settled > 0) base.logger.debug({ ...r }, 'reconciled');
    } catch (e) {
      base.logger.warn({ err: (e as Error).message }, 'reconcile failed; will try again');
    } finally {
      reconciling = false;
    }
  };
  const timer = opts.reconcile === false ? undefined : setInterval(runReconcile, reconcileMs);
  timer?.unref();
  const ready = Promise.all(workers.map((w) => w.waitUntilReady())).then(async () => {
    if (opts.reconcile !== false) await runReconcile();
  });

  let closing: Promise<WorkerStats> | undefined;
  return {
    workerName: name,
    ready,
    close(force = false) {
      if (timer) clearInterval(timer);
      const end = async () => {
        await threads?.close();
        return report();
      };
      if (force) return Promise.all(workers.map((w) => w.close(true))).then(end);
      closing ??= Promise.all(workers.map((w) => w.close())).then(end);
      return closing;
    },
  };
}

async function noteSyncAttemptFailed(deps: FlowDeps, requestId: string, message: string): Promise<void> {
  const req = await getRequest(deps.warehouse, requestId);
  if (req?.kind === 'sync') await recordSyncFailure(deps.warehouse, req.options.source ?? req.name, message);
}

function asGuijiError(e: unknown): GuijiError {
  if (isGuijiError(e)) return e;
  return internalError('INTERNAL', `内部错误：${(e as Error).message}`, (e as Error).message, {}, e);
}

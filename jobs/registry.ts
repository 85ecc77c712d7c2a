/**
 * The typed registry of queues and their payloads. Jobs carry references (request id, batch id, chunk
 * number, source name), never rows. Job ids are deterministic and contain no `:`, so adding the same
 * work twice (a retry, a reconcile after Redis lost its data) is a no-op while the job exists.
 */
import type { DefaultJobOptions } from 'bullmq';

export interface JobPayloads {
  /** Split a submitted file or a sync run into batches and chunk files. */
  collect: { requestId: string };
  /** One chunk of a batch through the row stages into staging. */
  chunk: { batchId: string; chunkNo: number };
  /** Merge a batch whose chunks are all done, check and close its ledger entry. */
  finalize: { batchId: string };
  /** Start a sync run of a configured source (from a schedule or `guiji sync`). */
  sync: { source: string };
}

export type QueueName = keyof JobPayloads;
export const QUEUE_NAMES: readonly QueueName[] = ['collect', 'chunk', 'finalize', 'sync'];

export const jobIds = {
  collect: (p: JobPayloads['collect']) => `collect-${p.requestId}`,
  chunk: (p: JobPayloads['chunk']) => `chunk-${p.batchId}-${p.chunkNo}`,
  finalize: (p: JobPayloads['finalize']) => `finalize-${p.batchId}`,
  sync: (p: JobPayloads['sync']) => `sync-${p.source}`,
} satisfies { [Q in QueueName]: (p: JobPayloads[Q]) => string };

/**
 * Retries are for infrastructure errors only (a processor turns bad data into rejected rows and a bad
 * file into an UnrecoverableError). Backoff: 1 s, 2 s, 4 s … capped at 60 s, with jitter, about 15
 * minutes in all before a job is left failed (the reconciler retries it later). Finished jobs are
 * removed at once (PostgreSQL has their results), failed ones kept a day for operators, bounded.
 */
export const JOB_OPTIONS: DefaultJobOptions = {
  attempts: 20,
  backoff: { type: 'guiji' },
  removeOnComplete: true,
  removeOnFail: { age: 24 * 3600, count: 1000 },
};

export function backoffMs(attemptsMade: number): number {
  const base = Math.min(60_000, 1000 * 2 ** Math.max(0, attemptsMade - 1));
  return Math.round(base * (0.75 + Math.random() * 0.5));
}

/** Events stream length per queue: small and fixed, so Redis memory does not grow with the file. */
export const EVENTS_MAX_LEN = 200;

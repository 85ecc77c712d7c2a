/**
 * The queues of one installation (`$GUIJI_QUEUE_PREFIX`) on one Redis, and `enqueue` for the batch
 * flow. Redis is a transport: everything here can be lost and rebuilt from PostgreSQL (reconcile).
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Enqueue } from '../pipelines/distributed/deps.js';
import type { GuijiConfig } from '../src/config.js';
import { configError } from '../src/errors.js';
import { EVENTS_MAX_LEN, JOB_OPTIONS, type JobPayloads, jobIds, QUEUE_NAMES, type QueueName } from './registry.js';

export interface Queues {
  queues: { [Q in QueueName]: Queue<JobPayloads[Q]> };
  enqueue: Enqueue;
  /** Like `enqueue`, but a job of the same id left failed is retried (for the reconciler). */
  requeue: Enqueue;
  /** Asks for a sync run of a configured source now. */
  sync(source: string): Promise<void>;
  connection: Redis;
  close(): Promise<void>;
}

/**
 * A Redis connection for BullMQ. Workers wait for Redis to come back (`maxRetriesPerRequest: null`);
 * a command-line client should fail fast instead (`failFast`).
 */
export function makeRedis(config: GuijiConfig, opts: { failFast?: boolean } = {}): Redis {
  if (!config.redisUrl) {
    throw configError('REDIS_URL_MISSING', '未设置 REDIS_URL，无法使用分布式模式。', 'REDIS_URL is not set');
  }
  return new Redis(config.redisUrl, {
    maxRetriesPerRequest: opts.failFast ? 2 : null,
    connectTimeout: 5000,
    retryStrategy: (times) => Math.min(2000, 100 * times),
    lazyConnect: false,
  });
}

export function makeQueues(config: GuijiConfig, connection: Redis, onError: (err: Error) => void = () => {}): Queues {
  const prefix = config.distributed.queuePrefix;
  const make = <Q extends QueueName>(name: Q) =>
    new Queue<JobPayloads[Q]>(name, {
      connection,
      prefix,
      defaultJobOptions: JOB_OPTIONS,
      streams: { events: { maxLen: EVENTS_MAX_LEN } },
    });
  const queues = Object.fromEntries(QUEUE_NAMES.map((n) => [n, make(n)])) as Queues['queues'];
  // Redis going away is reported here (and retried by ioredis), never an unhandled 'error' event.
  for (const q of Object.values(queues)) (q as Queue).on('error', onError);
  // Queue typings are generic over data; add() is called with the registry's payload types.
  const add = async <Q extends QueueName>(name: Q, data: JobPayloads[Q], retryFailed = false) => {
    const id = (jobIds[name] as (p: JobPayloads[Q]) => string)(data);
    const job = await (queues[name] as unknown as Queue).add(name, data, { jobId: id });
    // The same id already there and failed (its retries spent during a long outage): PostgreSQL says the
    // work is still to do, so try it again rather than leave the batch waiting. Only the reconciler asks
    // (one more round trip per job), not the hot path of collect.
    if (retryFailed && job && (await job.isFailed())) await job.retry('failed');
  };
  const enqueueing = (retryFailed: boolean): Enqueue => ({
    collect: (requestId) => add('collect', { requestId }, retryFailed),
    chunk: (batchId, chunkNo) => add('chunk', { batchId, chunkNo }, retryFailed),
    finalize: (batchId) => add('finalize', { batchId }, retryFailed),
  });
  return {
    queues,
    connection,
    enqueue: enqueueing(false),
    requeue: enqueueing(true),
    sync: (source) => add('sync', { source }),
    async close() {
      await Promise.all(Object.values(queues).map((q) => q.close()));
    },
  };
}

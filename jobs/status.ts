/** What `guiji status` shows: queue depths, the workers connected, unfinished requests and sync health. */
import type { Warehouse } from '../src/warehouse/open.js';
import { listSyncStates, type SyncState } from '../src/warehouse/sync-state.js';
import type { Queues } from './queues.js';
import { QUEUE_NAMES, type QueueName } from './registry.js';

export interface QueueStatus {
  name: QueueName;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  workers: number;
}

export interface Status {
  /** 'queues': BullMQ workers (REDIS_URL set); 'in-process': each command runs its own work. */
  executor: 'queues' | 'in-process';
  queues: QueueStatus[];
  workers: string[];
  running: Array<{
    batchId: string;
    file: string;
    chunksDone: number;
    chunksTotal: number | null;
    rows: number;
    /** The process running it in-process (`host:pid`); null for the queues' batches. */
    owner: string | null;
  }>;
  /** Per source: its state, and the lag (minutes since its last successful run; null if never). */
  sync: Array<SyncState & { lagMinutes: number | null }>;
}

/** `queues` null: no REDIS_URL, the in-process executor (no queues or workers to show). */
export async function readStatus(wh: Warehouse, queues: Queues | null): Promise<Status> {
  const out: QueueStatus[] = [];
  const workerNames = new Set<string>();
  for (const name of queues ? QUEUE_NAMES : []) {
    const q = (queues as Queues).queues[name];
    const c = await q.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized');
    const workers = await q.getWorkers();
    // rawname is `<prefix>:<queue>:w:<worker name>` (the name we give: host-pid); one process serves every queue.
    for (const w of workers) workerNames.add(String(w.rawname ?? '').split(':w:')[1] ?? String(w.addr ?? '?'));
    out.push({
      name,
      waiting: (c.waiting ?? 0) + (c.prioritized ?? 0),
      active: c.active ?? 0,
      delayed: c.delayed ?? 0,
      failed: c.failed ?? 0,
      workers: workers.length,
    });
  }
  const running = await wh.knex.raw(
    `SELECT b.id, b.file, b.chunks_total, b.owner, count(c.*) FILTER (WHERE c.status = 'done')::int AS done,
            coalesce(sum(c.rows), 0)::bigint AS rows
     FROM batches b LEFT JOIN batch_chunks c ON c.batch_id = b.id
     WHERE b.status = 'running' GROUP BY b.id ORDER BY b.started_at`,
  );
  return {
    executor: queues ? 'queues' : 'in-process',
    queues: out,
    workers: [...workerNames].sort(),
    running: (running.rows as Array<Record<string, unknown>>).map((r) => ({
      batchId: r.id as string,
      file: r.file as string,
      chunksDone: Number(r.done),
      chunksTotal: r.chunks_total == null ? null : Number(r.chunks_total),
      rows: Number(r.rows),
      owner: (r.owner as string | null) ?? null,
    })),
    sync: (await listSyncStates(wh)).map((s) => ({
      ...s,
      lagMinutes: s.lastSuccessAt ? Math.round((Date.now() - s.lastSuccessAt.getTime()) / 60_000) : null,
    })),
  };
}

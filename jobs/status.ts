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
  queues: QueueStatus[];
  workers: string[];
  running: Array<{ batchId: string; file: string; chunksDone: number; chunksTotal: number | null; rows: number }>;
  /** Per source: its state, and the lag (minutes since its last successful run; null if never). */
  sync: Array<SyncState & { lagMinutes: number | null }>;
}

export async function readStatus(wh: Warehouse, queues: Queues): Promise<Status> {
  const out: QueueStatus[] = [];
  const workerNames = new Set<string>();
  for (const name of QUEUE_NAMES) {
    const q = queues.queues[name];
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
    `SELECT b.id, b.file, b.chunks_total, count(c.*) FILTER (WHERE c.status = 'done')::int AS done,
            coalesce(sum(c.rows), 0)::bigint AS rows
     FROM batches b LEFT JOIN batch_chunks c ON c.batch_id = b.id
     WHERE b.status = 'running' GROUP BY b.id ORDER BY b.started_at`,
  );
  return {
    queues: out,
    workers: [...workerNames].sort(),
    running: (running.rows as Array<Record<string, unknown>>).map((r) => ({
      batchId: r.id as string,
      file: r.file as string,
      chunksDone: Number(r.done),
      chunksTotal: r.chunks_total == null ? null : Number(r.chunks_total),
      rows: Number(r.rows),
    })),
    sync: (await listSyncStates(wh)).map((s) => ({
      ...s,
      lagMinutes: s.lastSuccessAt ? Math.round((Date.now() - s.lastSuccessAt.getTime()) / 60_000) : null,
    })),
  };
}

/**
 * Job schedulers for the nightly syncs, from the config file: one per source with a `schedule`, id
 * `sync-<source>` (stable: registering again updates it), cron in an explicit time zone. Schedulers
 * of sources no longer configured are removed.
 */
import type { GuijiConfig } from '../src/config.js';
import type { Queues } from './queues.js';
import { jobIds } from './registry.js';

export interface ScheduleEntry {
  id: string;
  source: string;
  cron: string;
  tz: string;
  next: Date | null;
}

export async function registerSchedules(
  config: GuijiConfig,
  queues: Queues,
): Promise<{ registered: ScheduleEntry[]; removed: string[] }> {
  const q = queues.queues.sync;
  const registered: ScheduleEntry[] = [];
  const wanted = new Set<string>();
  for (const [name, def] of Object.entries(config.sources)) {
    if (!def.schedule) continue;
    const id = jobIds.sync({ source: name });
    const tz = def.schedule.tz ?? 'Asia/Shanghai';
    wanted.add(id);
    const job = await q.upsertJobScheduler(
      id,
      { pattern: def.schedule.cron, tz },
      { name: 'sync', data: { source: name }, opts: {} },
    );
    const next = job?.timestamp !== undefined ? new Date(job.timestamp + (job.delay ?? 0)) : null;
    registered.push({ id, source: name, cron: def.schedule.cron, tz, next });
  }
  const removed: string[] = [];
  for (const s of await q.getJobSchedulers(0, -1)) {
    const id = s.key;
    if (id.startsWith('sync-') && !wanted.has(id)) {
      await q.removeJobScheduler(id);
      removed.push(id);
    }
  }
  return { registered, removed };
}

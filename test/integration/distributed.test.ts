/**
 * Distributed mode end to end: `guiji worker` processes on real Redis and PostgreSQL, `guiji ingest`
 * with REDIS_URL set submitting and following. The outcomes must equal the inline executor's on the
 * same file, whatever happens to the workers.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  jsonLines,
  makeRig,
  OUTCOME_KEYS,
  type ReferenceFile,
  type Rig,
  redisProblem,
  referenceFile,
  sumOutcomes,
  waitFor,
} from '../helpers/distributed.js';

const ROWS = 6000;
let ref: ReferenceFile;
let csv: string;
let inline: Record<string, number | string | null>;

beforeAll(async () => {
  ref = await referenceFile(ROWS, 7);
  ({ csv, inline } = ref);
  expect(sumOutcomes(inline)).toBe(ROWS);
  expect(Number(inline.rejected)).toBeGreaterThan(0);
  expect(Number(inline.duplicate)).toBeGreaterThan(0);
}, 120_000);

afterAll(() => ref?.dispose());

function expectSameOutcomes(s: Record<string, unknown>) {
  expect(s.total).toBe(ROWS);
  expect(sumOutcomes(s)).toBe(ROWS);
  for (const k of OUTCOME_KEYS) expect(s[k], k).toBe(inline[k]);
  expect(s.warnings).toBe(inline.warnings);
}

async function warehouseCounts(rig: Rig) {
  const k = rig.tw.wh.knex;
  const one = async (sql: string) => Number((await k.raw(sql)).rows[0].n);
  return {
    records: await one('select count(*) as n from admin_penalty'),
    rejections: await one('select count(*) as n from rejections'),
    staged: await one('select count(*) as n from admin_penalty_staging'),
    pendingChunks: await one("select count(*) as n from batch_chunks where status = 'pending'"),
  };
}

describe.skipIf(redisProblem !== undefined)('distributed ingest (BullMQ workers)', () => {
  it('two workers share a batch; the ledger adds up and equals the inline run; a second ingest is all unchanged', async () => {
    const rig = await makeRig('two-workers', { GUIJI_CHUNK_ROWS: '300' });
    try {
      const [w1, w2] = await Promise.all([rig.worker(), rig.worker()]);
      const first = await rig.run(['ingest', '--json', csv]);
      expect(first.code, first.stderr).toBe(0);
      const s = jsonLines(first.stdout)[0] as Record<string, unknown>;
      expectSameOutcomes(s);
      expect(String(s.batchId)).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{8}-1$/);

      const byWorker = await rig.tw.wh.knex.raw(
        'select worker, count(*)::int as n from batch_chunks where batch_id = ? group by worker',
        [String(s.batchId)],
      );
      expect(byWorker.rows.length).toBe(2); // both workers took chunks
      const c = await warehouseCounts(rig);
      expect(c.records).toBe(Number(inline.inserted));
      expect(c.rejections).toBe(Number(inline.rejected));
      expect(c.staged).toBe(0);
      expect(c.pendingChunks).toBe(0);
      const ledger = (await rig.tw.wh.knex.raw('select * from batches where id = ?', [String(s.batchId)])).rows[0];
      expect(ledger.status).toBe('done');
      const chunks = (
        await rig.tw.wh.knex.raw(
          'select count(*)::int as n, sum(rows)::int as rows from batch_chunks where batch_id = ?',
          [String(s.batchId)],
        )
      ).rows[0];
      expect(ledger.chunks_total).toBe(chunks.n);
      // A CSV is cut by bytes (about 300 × 512 bytes a chunk here); each chunk's job counts its rows exactly.
      expect(chunks.n).toBeGreaterThan(ROWS / 300 / 2);
      expect(chunks.n).toBeLessThan((ROWS / 300) * 2);
      expect(chunks.rows).toBe(Number(s.total));
      expect(Number(ledger.total)).toBe(Number(s.total));

      const second = await rig.run(['ingest', '--json', csv]);
      expect(second.code, second.stderr).toBe(0);
      const s2 = jsonLines(second.stdout)[0] as Record<string, unknown>;
      expect(s2.inserted).toBe(0);
      expect(s2.updated).toBe(0);
      expect(s2.unchanged).toBe(inline.inserted);
      expect(s2.duplicate).toBe(inline.duplicate);
      expect(s2.rejected).toBe(inline.rejected);
      await Promise.all([w1.stop(), w2.stop()]);
      expect(await w1.exited).toBe(0);
    } finally {
      await rig.dispose();
    }
  });

  it('a worker killed with SIGKILL mid-batch loses and doubles nothing once another worker finishes', async () => {
    const rig = await makeRig('sigkill', { GUIJI_CHUNK_ROWS: '200' });
    try {
      const victim = await rig.worker();
      const ingest = rig.start(['ingest', '--json', csv]);
      const k = rig.tw.wh.knex;
      await waitFor(
        async () =>
          Number((await k.raw("select count(*) as n from batch_chunks where status = 'done'")).rows[0].n) >= 3,
        60_000,
        'a few chunks done',
      );
      victim.child.kill('SIGKILL');
      await victim.exited;
      const before = Number((await k.raw("select count(*) as n from batch_chunks where status = 'done'")).rows[0].n);
      expect(before).toBeLessThan(Math.ceil(ROWS / 200)); // it died with work left
      await rig.worker();
      expect(await ingest.exited, ingest.output()).toBe(0);
      const s = jsonLines(ingest.stdout())[0] as Record<string, unknown>;
      expectSameOutcomes(s);
      const c = await warehouseCounts(rig);
      expect(c.records).toBe(Number(inline.inserted));
      expect(c.rejections).toBe(Number(inline.rejected));
      expect(c.staged).toBe(0);
      const hist = Number((await k.raw('select count(*) as n from admin_penalty_history')).rows[0].n);
      expect(hist).toBe(0);
    } finally {
      await rig.dispose();
    }
  });

  it('says on stderr when no worker consumes the queue, and finishes once one starts', async () => {
    const rig = await makeRig('no-worker', { GUIJI_CHUNK_ROWS: '1000' });
    try {
      const ingest = rig.start(['ingest', '--json', csv]);
      await waitFor(() => ingest.output().includes('没有正在运行的工作进程'), 20_000, 'the no-worker notice');
      const queued = await rig.run(['batches', '--json']);
      expect(jsonLines(queued.stdout)[0]).toMatchObject({ status: 'queued', file: path.basename(csv) });
      const worker = await rig.worker();
      expect(await ingest.exited, ingest.output()).toBe(0);
      expectSameOutcomes(jsonLines(ingest.stdout())[0] as Record<string, unknown>);
      const status = await rig.run(['status', '--json']);
      expect(status.code, status.stderr).toBe(0);
      const st = JSON.parse(status.stdout) as { workers: string[]; queues: Array<{ name: string; workers: number }> };
      expect(st.workers.length).toBe(1);
      expect(st.queues.find((q) => q.name === 'chunk')?.workers).toBe(1);
      expect(await worker.stop('SIGTERM')).toBe(0);
      expect(worker.output()).toContain('maxEventLoopDelayMs');
    } finally {
      await rig.dispose();
    }
  });
});

/**
 * Distributed mode when infrastructure fails mid-batch: a Redis of the test's own killed and restarted
 * empty, and the PostgreSQL connections of the workers cut for a while through a loopback proxy. Both
 * must end with a complete, correct batch (the same outcomes as the inline executor on the file).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  jsonLines,
  makeRig,
  OUTCOME_KEYS,
  type ReferenceFile,
  redisProblem,
  referenceFile,
  startOwnRedis,
  startTcpProxy,
  sumOutcomes,
  urlWithSchema,
  waitFor,
} from '../helpers/distributed.js';

const ROWS = 5000;
let ref: ReferenceFile;
let csv: string;
let inline: Record<string, number | string | null>;

beforeAll(async () => {
  ref = await referenceFile(ROWS, 11);
  ({ csv, inline } = ref);
}, 120_000);

afterAll(() => ref?.dispose());

function expectSameOutcomes(s: Record<string, unknown>) {
  expect(sumOutcomes(s)).toBe(ROWS);
  for (const k of OUTCOME_KEYS) expect(s[k], k).toBe(inline[k]);
}

const doneChunks = async (knex: import('knex').Knex) =>
  Number((await knex.raw("select count(*) as n from batch_chunks where status = 'done'")).rows[0].n);

describe.skipIf(redisProblem !== undefined)('distributed ingest under failures', () => {
  it('Redis killed and restarted empty mid-batch: the batch still ends complete and correct', async () => {
    const redis = await startOwnRedis();
    const rig = await makeRig('redis-restart', { REDIS_URL: redis.url, GUIJI_CHUNK_ROWS: '200' });
    try {
      await Promise.all([rig.worker(), rig.worker()]);
      const ingest = rig.start(['ingest', '--json', csv]);
      await waitFor(async () => (await doneChunks(rig.tw.wh.knex)) >= 3, 60_000, 'a few chunks done');
      await redis.kill();
      await new Promise((r) => setTimeout(r, 1500));
      await redis.restart(); // empty: every job and lock is gone
      expect(await ingest.exited, ingest.output()).toBe(0);
      const s = jsonLines(ingest.stdout())[0] as Record<string, unknown>;
      expectSameOutcomes(s);
      const k = rig.tw.wh.knex;
      expect(Number((await k.raw('select count(*) as n from admin_penalty')).rows[0].n)).toBe(inline.inserted);
      expect(Number((await k.raw('select count(*) as n from rejections')).rows[0].n)).toBe(inline.rejected);
    } finally {
      await rig.dispose();
      await redis.stop();
    }
  });

  it("the workers' PostgreSQL connections cut for a while: the batch still ends complete and correct", async () => {
    const rig = await makeRig('pg-cut', { GUIJI_CHUNK_ROWS: '200' });
    const target = new URL(rig.env.DATABASE_URL as string);
    const proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
    try {
      const viaProxy = new URL(rig.env.DATABASE_URL as string);
      viaProxy.host = `127.0.0.1:${proxy.port}`;
      const workerEnv = { DATABASE_URL: viaProxy.toString() };
      await Promise.all([rig.worker(workerEnv), rig.worker(workerEnv)]);
      const ingest = rig.start(['ingest', '--json', csv]); // the client follows over a direct connection
      await waitFor(async () => (await doneChunks(rig.tw.wh.knex)) >= 3, 60_000, 'a few chunks done');
      proxy.cut();
      await new Promise((r) => setTimeout(r, 4000));
      proxy.restore();
      expect(await ingest.exited, ingest.output()).toBe(0);
      const s = jsonLines(ingest.stdout())[0] as Record<string, unknown>;
      expectSameOutcomes(s);
      const k = rig.tw.wh.knex;
      expect(Number((await k.raw('select count(*) as n from admin_penalty')).rows[0].n)).toBe(inline.inserted);
      expect(urlWithSchema('postgres://x@h/d', 's')).toContain('search_path');
    } finally {
      await rig.dispose();
      await proxy.close();
    }
  });
});

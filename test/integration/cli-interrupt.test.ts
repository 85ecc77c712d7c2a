/**
 * Ctrl-C during `guiji ingest` (inline executor, PostgreSQL): the batch being read is marked failed, what
 * it left (staged rows, rejections, warnings) is removed, the files after it are not started, the exit
 * code says "interrupted" (130), and running the same command again imports the file whole.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { jsonLines, makeRig, type Rig, sumOutcomes, waitFor } from '../helpers/distributed.js';
import { FIXTURES, REPO } from '../helpers/ingest.js';

const ROWS = 200_000;
let rig: Rig;
let dir: string;
let csv: string;
const small = path.join(FIXTURES, 'county', 'license-clean.xlsx');

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'guiji-interrupt-'));
  csv = path.join(dir, `penalty-${ROWS}.csv`);
  execFileSync('node', [path.join(REPO, 'scripts/gen-penalty-csv.mjs'), String(ROWS), csv, '--seed', '7']);
  rig = await makeRig('interrupt', { REDIS_URL: '' });
  const m = await rig.run(['migrate']);
  expect(m.code, m.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await rig?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

async function count(sql: string, bindings: Array<string | number> = []): Promise<number> {
  const r = await rig.tw.wh.knex.raw(sql, bindings);
  return Number((r.rows[0] as { n: string | number }).n);
}

/** The running batch has rows in `table` (staged rows, or rejections, which are written 2,000 at a time). */
function runningBatchHas(table: 'admin_penalty_staging' | 'rejections'): Promise<void> {
  return waitFor(
    async () =>
      (await count(
        `SELECT count(*) AS n FROM ${table} x JOIN batches b ON b.id = x.batch_id WHERE b.status = 'running'`,
      )) > 0,
    60_000,
    `rows in ${table} of the running batch`,
  );
}

it('stops at the next chunk, marks the batch failed, leaves nothing of it, and skips the files after it', async () => {
  const bg = rig.start(['ingest', '--county', '230184', csv, small]);
  await runningBatchHas('admin_penalty_staging');
  bg.child.kill('SIGINT');
  const code = await bg.exited;
  const out = bg.output();
  expect(code, out).toBe(130);

  const batches = (await rig.tw.wh.knex('batches').select('id', 'file', 'status', 'total', 'error')) as Array<{
    id: string;
    file: string;
    status: string;
    total: number;
    error: string | null;
  }>;
  // The second file was never started: one batch only, the interrupted one.
  expect(batches).toHaveLength(1);
  const [b] = batches as [(typeof batches)[number]];
  expect(b.file).toBe(path.basename(csv));
  expect(b.status).toBe('failed');
  expect(b.error).toMatch(/^interrupted \(SIGINT\) while reading/);
  expect(b.total).toBeGreaterThan(0);
  expect(b.total).toBeLessThan(ROWS);

  // The clerk is told what happened to each file, with the batch id and what to do.
  expect(out).toContain(`已中断：文件 ${path.basename(csv)} 读到第 ${b.total} 行时停止，本批次（${b.id}）未入库`);
  expect(out).toContain('重新运行同一命令即可重新导入');
  expect(out).toContain(`已中断：文件 ${path.basename(small)} 未开始导入`);

  // Nothing of the batch is left: not in the catalog table, not staged, not for review.
  expect(await count('SELECT count(*) AS n FROM admin_penalty')).toBe(0);
  expect(await count('SELECT count(*) AS n FROM admin_penalty_staging WHERE batch_id = ?', [b.id])).toBe(0);
  expect(await count('SELECT count(*) AS n FROM rejections WHERE batch_id = ?', [b.id])).toBe(0);
  expect(await count('SELECT count(*) AS n FROM row_warnings WHERE batch_id = ?', [b.id])).toBe(0);
  expect(await count('SELECT count(*) AS n FROM admin_license')).toBe(0);
}, 120_000);

it('the same command run again imports the whole file, and only its own rejections are open', async () => {
  const r = await rig.run(['ingest', '--json', '--county', '230184', csv]);
  expect(r.code, r.stderr).toBe(0);
  const [s] = jsonLines(r.stdout) as [Record<string, number | string | null>];
  expect(s.total).toBe(ROWS);
  expect(sumOutcomes(s)).toBe(ROWS);
  // What the generator put in the file: every defective row rejected, every repeated key a duplicate.
  const made = JSON.parse(readFileSync(`${csv}.stats.json`, 'utf8')) as { defects: number; duplicates: number };
  expect(s).toMatchObject({ rejected: made.defects, duplicate: made.duplicates, updated: 0, unchanged: 0 });
  expect(s.inserted).toBe(ROWS - made.defects - made.duplicates);
  expect(await count('SELECT count(*) AS n FROM admin_penalty')).toBe(Number(s.inserted));
  expect(await count(`SELECT count(*) AS n FROM rejections WHERE status = 'open'`)).toBe(Number(s.rejected));
}, 120_000);

it('a batch whose process was killed (SIGKILL) is closed as failed by the next command, with nothing of it left', async () => {
  const bg = rig.start(['ingest', '--county', '230184', csv]);
  await runningBatchHas('admin_penalty_staging');
  await runningBatchHas('rejections');
  const pid = bg.child.pid;
  bg.child.kill('SIGKILL');
  await bg.exited;
  const running = (await rig.tw.wh.knex('batches').where('status', 'running').select('id', 'owner')) as Array<{
    id: string;
    owner: string;
  }>;
  expect(running).toHaveLength(1);
  const [b] = running as [(typeof running)[number]];
  expect(b.owner).toMatch(new RegExp(`:${pid}$`));
  expect(await count('SELECT count(*) AS n FROM rejections WHERE batch_id = ?', [b.id])).toBeGreaterThan(0);

  const listed = await rig.run(['batches']);
  expect(listed.code, listed.stderr).toBe(0);
  expect(listed.stderr).toContain(`批次 ${b.id}（${path.basename(csv)}）的进程（${b.owner}）意外结束，该批次未入库`);
  expect(listed.stdout).toMatch(new RegExp(`${b.id}\\s+failed`));
  expect(listed.stdout).toContain(`原因：interrupted: process ${b.owner} ended without closing the batch`);

  const after = (await rig.tw.wh.knex('batches').where('id', b.id).first()) as { status: string };
  expect(after.status).toBe('failed');
  expect(await count('SELECT count(*) AS n FROM admin_penalty_staging WHERE batch_id = ?', [b.id])).toBe(0);
  expect(await count('SELECT count(*) AS n FROM rejections WHERE batch_id = ?', [b.id])).toBe(0);
  // The batches loaded before it are untouched.
  expect(await count(`SELECT count(*) AS n FROM batches WHERE status = 'done'`)).toBe(1);
}, 120_000);

it('guiji status works without Redis: the in-process executor, no batch left running', async () => {
  const r = await rig.run(['status']);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toContain('执行方式：在各命令的进程内执行（未设置 REDIS_URL');
  expect(r.stdout).toContain('没有进行中的批次。');
  const j = await rig.run(['status', '--json']);
  expect(j.code, j.stderr).toBe(0);
  const s = JSON.parse(j.stdout) as { executor: string; queues: unknown[]; workers: unknown[]; running: unknown[] };
  expect(s).toMatchObject({ executor: 'in-process', queues: [], workers: [], running: [] });
});

/**
 * The nightly sync end to end: a source table (PostgreSQL, and MariaDB) mapped to the penalty catalog in
 * the config file, `guiji sync` run inline and through BullMQ workers. A re-run with no source changes
 * loads nothing; changed rows come as updates; a run interrupted half-way and re-run loads each source
 * row exactly once (the cursor only moves with the batch that covers it).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogs } from '../../src/catalog/load.js';
import {
  jsonLines,
  makeRig,
  type Rig,
  redisProblem,
  sumOutcomes,
  urlWithSchema,
  waitFor,
} from '../helpers/distributed.js';
import { FIXTURES, REPO } from '../helpers/ingest.js';
import { TEST_DATABASE_URL } from '../helpers/warehouses.js';

const ROWS = 1500;
const MARIADB_URL = process.env.GUIJI_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
const fields = loadCatalogs()
  .get('admin-penalty')
  .fields.map((f) => f.name);

let dir: string;
let scratch: Rig; // holds the source table: the generated file loaded once, then exposed as `xzcf`
let sourceUrl: string;
let mysqlTable: string;
let sourceRows: Array<Record<string, unknown>>;

function writeConfig(sources: Record<string, unknown>): string {
  const counties = JSON.parse(readFileSync(path.join(FIXTURES, 'counties.json'), 'utf8')).counties;
  const file = path.join(dir, `config-${Math.random().toString(36).slice(2, 8)}.json`);
  writeFileSync(file, JSON.stringify({ counties, sources }, null, 2));
  return file;
}

const mapping = Object.fromEntries(fields.map((f) => [f, f]));

/** A database source over the test's source table, mapped field for field to the penalty catalog. */
function dbSource(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'database',
    client: 'pg',
    url: sourceUrl,
    table: 'xzcf',
    cursor: 'updated_at',
    key: 'id',
    catalog: 'admin-penalty',
    county: '230184',
    fields: mapping,
    ...over,
  };
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'guiji-sync-'));
  const csv = path.join(dir, 'source.csv');
  execFileSync('node', [path.join(REPO, 'scripts/gen-penalty-csv.mjs'), String(ROWS), csv, '--seed', '5']);
  scratch = await makeRig('sync-source');
  const r = await scratch.run(['ingest', '--json', csv], { REDIS_URL: '' });
  expect(r.code, r.stderr).toBe(0);
  const k = scratch.tw.wh.knex;
  const cols = fields.map((f) => (f === 'penalty_types' ? `array_to_string(${f}, ';') AS ${f}` : f)).join(', ');
  await k.raw(
    `CREATE TABLE xzcf AS SELECT row_number() OVER (ORDER BY source_row)::int AS id,
       clock_timestamp() - interval '1 day' + (row_number() OVER (ORDER BY source_row)) * interval '1 microsecond' AS updated_at,
       ${cols} FROM admin_penalty`,
  );
  sourceRows = (await k.raw('SELECT * FROM xzcf ORDER BY id')).rows;
  expect(sourceRows.length).toBeGreaterThan(1000);
  sourceUrl = urlWithSchema(TEST_DATABASE_URL, scratch.schema);

  // The same rows in MariaDB.
  mysqlTable = `xzcf_${process.pid}_${Math.random().toString(36).slice(2, 6)}`;
  const my = knexFactory({ client: 'mysql2', connection: MARIADB_URL });
  try {
    await my.schema.createTable(mysqlTable, (t) => {
      t.integer('id').primary();
      t.datetime('updated_at', { precision: 6 });
      for (const f of fields) {
        if (f.endsWith('_date') || f === 'penalty_valid_until') t.date(f);
        else if (f.endsWith('_wan_yuan')) t.decimal(f, 18, 6);
        else t.text(f);
      }
    });
    for (let i = 0; i < sourceRows.length; i += 200) {
      await my(mysqlTable).insert(
        sourceRows.slice(i, i + 200).map((row) => ({
          ...row,
          updated_at: new Date(Date.now() - 86_400_000 + Number(row.id)),
        })),
      );
    }
  } finally {
    await my.destroy();
  }
}, 180_000);

afterAll(async () => {
  await scratch?.dispose();
  const my = knexFactory({ client: 'mysql2', connection: MARIADB_URL });
  await my.schema.dropTableIfExists(mysqlTable).catch(() => {});
  await my.destroy();
  rmSync(dir, { recursive: true, force: true });
});

async function count(k: Knex, sql: string, binds: unknown[] = []): Promise<number> {
  return Number((await k.raw(sql, binds as never)).rows[0].n);
}

describe('guiji sync (inline, no Redis)', () => {
  it('PostgreSQL source: loads the rows, a re-run with no changes loads nothing, changed rows come as updates', async () => {
    const cfg = writeConfig({
      'pg-src': dbSource({ pageSize: 250 }),
    });
    const rig = await makeRig('sync-pg', { GUIJI_CONFIG: cfg, REDIS_URL: '' });
    try {
      const first = await rig.run(['sync', 'pg-src', '--json']);
      expect(first.code, first.stderr).toBe(0);
      const s = jsonLines(first.stdout)[0] as Record<string, unknown>;
      expect(s.total).toBe(sourceRows.length);
      expect(sumOutcomes(s)).toBe(sourceRows.length);
      expect(Number(s.inserted)).toBeGreaterThan(sourceRows.length * 0.9);
      const k = rig.tw.wh.knex;
      expect(await count(k, 'select count(*) as n from admin_penalty')).toBe(s.inserted);

      const again = await rig.run(['sync', 'pg-src', '--json']);
      expect(again.code, again.stderr).toBe(0);
      expect(jsonLines(again.stdout)).toEqual([]);
      expect(await count(k, 'select count(*) as n from batches')).toBe(1);
      const state = (await k.raw("select * from sync_state where source = 'pg-src'")).rows[0];
      expect(state.last_rows).toBe(0);
      expect(state.failures).toBe(0);

      // Three rows change at the source (their cursor moves): exactly those come, as updates.
      const src = scratch.tw.wh.knex;
      await src.raw(
        `UPDATE xzcf SET remarks = coalesce(remarks, '') || '（更正）', updated_at = clock_timestamp()
         WHERE id IN (SELECT id FROM xzcf ORDER BY id DESC LIMIT 3)`,
      );
      try {
        const third = await rig.run(['sync', 'pg-src', '--json']);
        expect(third.code, third.stderr).toBe(0);
        const s3 = jsonLines(third.stdout)[0] as Record<string, unknown>;
        expect(s3.total).toBe(3);
        expect(Number(s3.updated) + Number(s3.duplicate) + Number(s3.rejected)).toBe(3);
        expect(await count(k, 'select count(*) as n from admin_penalty_history')).toBe(s3.updated);
      } finally {
        await src.raw(`UPDATE xzcf SET remarks = replace(remarks, '（更正）', '')`);
      }
    } finally {
      await rig.dispose();
    }
  });

  it('a source that cannot be read fails the run with its reason and counts in the sync health', async () => {
    const cfg = writeConfig({
      'gone-src': dbSource({ table: 'no_such_table' }),
    });
    const rig = await makeRig('sync-gone', { GUIJI_CONFIG: cfg, REDIS_URL: '' });
    try {
      const r = await rig.run(['sync', 'gone-src']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('no_such_table');
      const state = (await rig.tw.wh.knex.raw("select * from sync_state where source = 'gone-src'")).rows[0];
      expect(state.failures).toBe(1);
      expect(state.last_success_at).toBeNull();
      expect(state.last_error).toContain('no_such_table');
      expect(await count(rig.tw.wh.knex, 'select count(*) as n from batches')).toBe(0);
    } finally {
      await rig.dispose();
    }
  });

  it('MariaDB source: loads the rows once; a re-run with no changes loads nothing', async () => {
    const cfg = writeConfig({
      'my-src': dbSource({ client: 'mysql', url: MARIADB_URL, table: mysqlTable, pageSize: 400 }),
    });
    const rig = await makeRig('sync-my', { GUIJI_CONFIG: cfg, REDIS_URL: '' });
    try {
      const first = await rig.run(['sync', 'my-src', '--json']);
      expect(first.code, first.stderr).toBe(0);
      const s = jsonLines(first.stdout)[0] as Record<string, unknown>;
      expect(s.total).toBe(sourceRows.length);
      expect(sumOutcomes(s)).toBe(sourceRows.length);
      const again = await rig.run(['sync', 'my-src', '--json']);
      expect(again.code, again.stderr).toBe(0);
      expect(jsonLines(again.stdout)).toEqual([]);
      expect(await count(rig.tw.wh.knex, 'select count(*) as n from batches')).toBe(1);
    } finally {
      await rig.dispose();
    }
  });
});

describe.skipIf(redisProblem !== undefined)('guiji sync through BullMQ workers', () => {
  it('a sync interrupted half-way (worker and client killed) and re-run loads each source row exactly once', async () => {
    const cfg = writeConfig({
      'pg-src': dbSource({ pageSize: 100 }),
    });
    const rig = await makeRig('sync-kill', { GUIJI_CONFIG: cfg, GUIJI_MAX_CHUNKS_IN_FLIGHT: '2' });
    try {
      const k = rig.tw.wh.knex;
      const victim = await rig.worker();
      const client = rig.start(['sync', 'pg-src', '--json']);
      await waitFor(
        async () => (await count(k, "select count(*) as n from batch_chunks where status = 'done'")) >= 2,
        60_000,
        'some chunks done',
      );
      victim.child.kill('SIGKILL');
      client.child.kill('SIGKILL');
      await Promise.all([victim.exited, client.exited]);
      expect(await count(k, "select count(*) as n from batches where status = 'done'")).toBe(0);

      await rig.worker();
      const rerun = await rig.run(['sync', 'pg-src', '--json']);
      expect(rerun.code, rerun.stderr).toBe(0);
      const s = jsonLines(rerun.stdout)[0] as Record<string, unknown>;
      expect(s.total).toBe(sourceRows.length); // the interrupted run, resumed: one batch, every row once
      expect(sumOutcomes(s)).toBe(sourceRows.length);
      expect(await count(k, 'select count(*) as n from batches')).toBe(1);
      expect(await count(k, 'select count(*) as n from admin_penalty')).toBe(s.inserted);
      expect(await count(k, 'select coalesce(sum(rows), 0) as n from batch_chunks')).toBe(sourceRows.length);

      const again = await rig.run(['sync', 'pg-src', '--json']);
      expect(again.code, again.stderr).toBe(0);
      expect(jsonLines(again.stdout)).toEqual([]);
    } finally {
      await rig.dispose();
    }
  });
});

/**
 * The command line as clerks and other tools use it (DESIGN.md §3): the built `guiji` bin, run as a
 * child process, on the embedded warehouse and on PostgreSQL.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import iconv from 'iconv-lite';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REJECTION_ID_HEADER } from '../../pipelines/rejection-id.js';
import { FIXTURES, REPO } from '../helpers/ingest.js';
import { describeEachWarehouse, TEST_DATABASE_URL } from '../helpers/warehouses.js';

const BIN = path.join(REPO, 'dist', 'cli', 'main.js');
const SUMMARY_KEYS = [
  'batchId',
  'file',
  'sheet',
  'catalog',
  'county',
  'total',
  'inserted',
  'updated',
  'unchanged',
  'duplicate',
  'rejected',
  'warnings',
  'durationMs',
].sort();

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: Record<string, string | undefined>): Promise<Run> {
  return new Promise((resolve) => {
    const childEnv: Record<string, string> = {};
    // The inline executor: a REDIS_URL in the environment (CI exports one) would send ingest to workers.
    for (const [k, v] of Object.entries({ ...process.env, TZ: 'Asia/Shanghai', REDIS_URL: undefined, ...env })) {
      if (v !== undefined) childEnv[k] = v;
    }
    execFile('node', [BIN, ...args], { env: childEnv, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function jsonLines(out: string): Array<Record<string, unknown>> {
  return out
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .map((l) => JSON.parse(l));
}

function sumOutcomes(s: Record<string, unknown>): number {
  return ['inserted', 'updated', 'unchanged', 'duplicate', 'rejected'].reduce((n, k) => n + Number(s[k]), 0);
}

it('the bin is built', () => {
  expect(existsSync(BIN)).toBe(true);
});

describeEachWarehouse('guiji ingest', (kind) => {
  const work = mkdtempSync(path.join(tmpdir(), 'guiji-cli-'));
  const env: Record<string, string | undefined> = {
    GUIJI_HOME: path.join(work, 'home'),
    GUIJI_CONFIG: path.join(FIXTURES, 'counties.json'),
    DATABASE_URL: undefined,
  };
  const dbName = `guiji_cli_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;

  beforeAll(async () => {
    if (kind !== 'postgres') return;
    const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await c.connect();
    await c.query(`CREATE DATABASE ${dbName}`);
    await c.end();
    const url = new URL(TEST_DATABASE_URL);
    url.pathname = `/${dbName}`;
    env.DATABASE_URL = url.toString();
  });
  afterAll(async () => {
    rmSync(work, { recursive: true, force: true });
    if (kind !== 'postgres') return;
    const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await c.end();
  });

  const csv = path.join(FIXTURES, 'county', 'penalty-clean.csv');

  it('prints one JSON summary per batch, exactly the contract, and the ledger adds up', async () => {
    const r = await run(['ingest', csv, '--county', '230184', '--json'], env);
    expect(r.stderr).not.toMatch(/内部错误/);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    const [s, ...more] = jsonLines(r.stdout);
    expect(more).toEqual([]);
    if (!s) throw new Error('no summary');
    expect(Object.keys(s).sort()).toEqual(SUMMARY_KEYS);
    expect(s.catalog).toBe('admin-penalty');
    expect(s.county).toBe('230184');
    expect(typeof s.batchId).toBe('string');
    expect(s.total).toBeGreaterThan(0);
    expect(sumOutcomes(s)).toBe(s.total);
    expect(Number(s.inserted)).toBeGreaterThan(0);

    // The same file again: only unchanged (and the same duplicate/rejected).
    const again = jsonLines((await run(['ingest', csv, '--county', '230184', '--json'], env)).stdout)[0];
    if (!again) throw new Error('no summary');
    expect(again.batchId).not.toBe(s.batchId);
    expect({ inserted: again.inserted, updated: again.updated }).toEqual({ inserted: 0, updated: 0 });
    expect(again.unchanged).toBe(Number(s.inserted) + Number(s.updated));
    expect({ duplicate: again.duplicate, rejected: again.rejected }).toEqual({
      duplicate: s.duplicate,
      rejected: s.rejected,
    });
  });

  it('a file with one changed row gives one updated, and the old version stays in history', async () => {
    // Change the 处罚内容 of the first data row (a loaded row in penalty-clean.csv).
    const text = readFileSync(csv, 'utf8');
    const lines = text.split(/\r?\n/);
    const header = (lines[0] ?? '').replace(/^\uFEFF/, '').split(',');
    const col = header.findIndex((h) => h.includes('处罚内容'));
    expect(col).toBeGreaterThanOrEqual(0);
    const cells = (lines[1] ?? '').split(',');
    const before = cells[col];
    cells[col] = `${before}（已更正）`;
    lines[1] = cells.join(',');
    const changed = path.join(work, 'penalty-clean-changed.csv');
    writeFileSync(changed, lines.join('\n'));

    const r = await run(['ingest', changed, '--county', '230184', '--json'], env);
    expect(r.code).toBe(0);
    const s = jsonLines(r.stdout)[0];
    if (!s) throw new Error('no summary');
    expect(s.updated).toBe(1);
    expect(s.inserted).toBe(0);
    expect(sumOutcomes(s)).toBe(s.total);

    const rows = await queryWarehouse(
      kind,
      env,
      'SELECT h.penalty_content AS old, t.penalty_content AS new, t.version FROM admin_penalty_history h JOIN admin_penalty t USING (record_key)',
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]?.old).toBe(before);
    expect(rows[0]?.new).toBe(`${before}（已更正）`);
    expect(Number(rows[0]?.version)).toBe(2);
  });

  it('a CSV split as bytes in worker threads gives the rows, numbers, rejections and warnings of the inline run', async () => {
    const messy = path.join(FIXTURES, 'county', 'penalty-messy-gbk.csv');
    // Threads for every file, and chunks of 2 KB: the GBK file is cut into many byte chunks.
    const threaded = await run(['ingest', messy, '--county', '230184', '--json'], {
      ...env,
      GUIJI_THREADS: '2',
      GUIJI_THREADS_ABOVE_MB: '0',
      GUIJI_CSV_CHUNK_BYTES: '2048',
    });
    const inline = await run(['ingest', messy, '--county', '230184', '--json'], { ...env, GUIJI_THREADS: '0' });
    expect([threaded.code, inline.code]).toEqual([0, 0]);
    const [t] = jsonLines(threaded.stdout);
    const [i] = jsonLines(inline.stdout);
    if (!t || !i) throw new Error('no summary');
    expect(sumOutcomes(t)).toBe(t.total);
    expect(Number(t.inserted) + Number(t.updated)).toBeGreaterThan(0);
    expect(Number(t.rejected)).toBeGreaterThan(0);
    // The second run finds the first one's rows: same counts otherwise.
    expect(i.unchanged).toBe(Number(t.inserted) + Number(t.updated) + Number(t.unchanged));
    for (const k of ['total', 'duplicate', 'rejected', 'warnings']) expect([k, i[k]]).toEqual([k, t[k]]);
    const perBatch = async (sql: string, batchId: unknown) =>
      (await queryWarehouse(kind, env, sql.replace('$1', `'${String(batchId)}'`))).map((r) => JSON.stringify(r));
    const rejections = 'SELECT row_number, error_codes, cells FROM rejections WHERE batch_id = $1 ORDER BY row_number';
    const warnings = 'SELECT row_number, issues FROM row_warnings WHERE batch_id = $1 ORDER BY row_number';
    expect(await perBatch(rejections, t.batchId)).toEqual(await perBatch(rejections, i.batchId));
    expect(await perBatch(warnings, t.batchId)).toEqual(await perBatch(warnings, i.batchId));
    const loaded = await queryWarehouse(
      kind,
      env,
      `SELECT count(*)::int AS n FROM admin_penalty WHERE batch_id = '${String(t.batchId)}'`,
    );
    expect(loaded[0]?.n).toBe(Number(t.inserted) + Number(t.updated));
  });

  it('--dry-run prints the outcomes the run then has, with batchId null, and writes nothing (inline and threads)', async () => {
    // The messy county file with row 2 a new record (its 文号 changed) and row 3's facts changed, so the
    // prediction has something of each kind whatever earlier tests loaded.
    const lines = iconv
      .decode(readFileSync(path.join(FIXTURES, 'county', 'penalty-messy-gbk.csv')), 'gb18030')
      .split('\n');
    lines[1] = (lines[1] ?? '').replace('五交罚〔2024〕第0301号', '五交罚〔2026〕试运行第1号');
    lines[2] = (lines[2] ?? '').replace('构成违法超限运输。', '构成违法超限运输（更正）。');
    const file = path.join(work, 'penalty-messy-dry.csv');
    writeFileSync(file, iconv.encode(lines.join('\n'), 'gb18030'));
    const tables = [
      'batches',
      'rejections',
      'row_warnings',
      'admin_penalty',
      'admin_penalty_history',
      'admin_penalty_staging',
    ];
    const counts = async () => {
      const n: unknown[] = [];
      for (const t of tables) n.push((await queryWarehouse(kind, env, `SELECT count(*)::int AS n FROM ${t}`))[0]?.n);
      return n;
    };
    const before = await counts();
    const args = ['ingest', file, '--county', '230184', '--dry-run', '--json'];
    const inline = await run(args, { ...env, GUIJI_THREADS: '0' });
    const threaded = await run(args, {
      ...env,
      GUIJI_THREADS: '2',
      GUIJI_THREADS_ABOVE_MB: '0',
      GUIJI_CSV_CHUNK_BYTES: '2048',
    });
    expect([inline.code, threaded.code]).toEqual([0, 0]);
    expect(await counts()).toEqual(before);
    const outcomes = (stdout: string): Record<string, unknown> => {
      const s = jsonLines(stdout)[0];
      if (!s) throw new Error('no summary');
      const { durationMs: _, ...rest } = s;
      return rest;
    };
    const dry = outcomes(inline.stdout);
    expect(Object.keys(jsonLines(inline.stdout)[0] ?? {}).sort()).toEqual(SUMMARY_KEYS);
    expect(dry.batchId).toBeNull();
    expect(sumOutcomes(dry)).toBe(dry.total);
    expect(Number(dry.rejected)).toBeGreaterThan(0);
    expect(Number(dry.inserted)).toBeGreaterThan(0);
    expect(outcomes(threaded.stdout)).toEqual(dry);
    const real = outcomes((await run(['ingest', file, '--county', '230184', '--json'], env)).stdout);
    expect({ ...real, batchId: null }).toEqual(dry);
  });

  it('a dry run of a file that carries rejection ids looks them up (on PGlite too, where it holds the one connection)', async () => {
    const lines = readFileSync(csv, 'utf8')
      .split(/\r?\n/)
      .filter((l) => l !== '');
    const file = path.join(work, 'penalty-with-ids.csv');
    const withIds = lines.map((l, i) => `${l},${i === 0 ? REJECTION_ID_HEADER : i === 1 ? '987654321' : ''}`);
    writeFileSync(file, `${withIds.join('\n')}\n`);
    const r = await run(['ingest', file, '--county', '230184', '--dry-run', '--json'], env);
    expect(r.code).toBe(0);
    const s = jsonLines(r.stdout)[0];
    if (!s) throw new Error('no summary');
    expect(s.total).toBe(lines.length - 1);
    expect(sumOutcomes(s)).toBe(s.total);
  });

  it('refuses unusable files with exit code 2 and a message, and still runs the other files', async () => {
    const refuse = path.join(FIXTURES, 'refuse');
    const html = path.join(refuse, 'penalty-saved-as-html.xlsx');
    const r = await run(['ingest', html, csv, '--county', '230184', '--json'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/另存为/);
    expect(r.stderr).toMatch(/xlsx/);
    const summaries = jsonLines(r.stdout);
    expect(summaries).toHaveLength(1);
    expect(summaries[0]?.file).toBe('penalty-clean.csv');
  });

  it('a dry run predicts the duplicate warnings the run gives: a loser is compared with the winner', async () => {
    // One record three times: A, then B (other content), then A again. The last row wins; of the two
    // losers only B differs from it, so one DUPLICATE_DIFFERS (comparing each row with the one before
    // it would count two).
    const lines = readFileSync(csv, 'utf8').split(/\r?\n/);
    const header = (lines[0] ?? '').replace(/^\uFEFF/, '').split(',');
    const docCol = header.findIndex((h) => h.includes('文号'));
    const contentCol = header.findIndex((h) => h.includes('处罚内容'));
    const a = (lines[1] ?? '').split(',');
    a[docCol] = '哈交罚〔2026〕重复测试1号';
    const b = [...a];
    b[contentCol] = `${a[contentCol]}（另一版本）`;
    const file = path.join(work, 'penalty-repeated.csv');
    writeFileSync(file, [header.join(','), a.join(','), b.join(','), a.join(',')].join('\n'));

    const dry = jsonLines((await run(['ingest', file, '--county', '230184', '--dry-run', '--json'], env)).stdout)[0];
    const real = jsonLines((await run(['ingest', file, '--county', '230184', '--json'], env)).stdout)[0];
    if (!dry || !real) throw new Error('no summary');
    expect({ duplicate: real.duplicate, inserted: real.inserted }).toEqual({ duplicate: 2, inserted: 1 });
    expect({ duplicate: dry.duplicate, inserted: dry.inserted, warnings: dry.warnings }).toEqual({
      duplicate: real.duplicate,
      inserted: real.inserted,
      warnings: real.warnings,
    });
    const differs = await queryWarehouse(
      kind,
      env,
      `SELECT row_number FROM row_warnings WHERE batch_id = '${String(real.batchId)}' AND issues::text LIKE '%DUPLICATE_DIFFERS%'`,
    );
    expect(differs.map((r) => Number(r.row_number))).toEqual([3]);
  });
});

describe('guiji on its own (embedded)', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'guiji-cli-'));
  const env = { GUIJI_HOME: path.join(work, 'home'), DATABASE_URL: undefined, GUIJI_CONFIG: undefined };
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('demo runs with no servers and says what happened and what to do next', async () => {
    const r = await run(['demo'], { ...env, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    expect(r.stderr).not.toMatch(/内部错误/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/新增 \d+/);
    expect(r.stdout).toMatch(/退回 \d+/);
    expect(r.stdout).toMatch(/guiji rejections --batch/);
    expect(existsSync(path.join(work, 'home'))).toBe(true);
  });

  it('every refused file gets exit code 2 and a message naming what is wrong (fixtures/refuse/*.expected.json)', async () => {
    const refuse = path.join(FIXTURES, 'refuse');
    const names = readdirSync(refuse).filter((n) => n.endsWith('.expected.json'));
    expect(names.length).toBeGreaterThanOrEqual(5);
    for (const name of names.sort()) {
      const want = JSON.parse(readFileSync(path.join(refuse, name), 'utf8'));
      const file = path.join(refuse, name.replace(/\.expected\.json$/, ''));
      const r = await run(['ingest', file, '--county', want.county ?? '230184'], {
        ...env,
        GUIJI_CONFIG: path.join(FIXTURES, 'counties.json'),
      });
      expect({ name, code: r.code }).toEqual({ name, code: want.exitCode });
      expect(r.stderr).toMatch(/错误 \[[A-Z_]+\]/);
      for (const words of want.messageMentions as string[]) expect(r.stderr).toContain(words);
    }
  });

  it('an unknown catalog and a bad --header-row are argument errors (exit 2)', async () => {
    const csv = path.join(FIXTURES, 'county', 'penalty-clean.csv');
    expect((await run(['ingest', csv, '--catalog', 'no-such'], env)).code).toBe(2);
    expect((await run(['ingest', csv, '--header-row', 'x'], env)).code).toBe(2);
  });

  it('a GBK file with its encoding forced wrong is still a result, never a crash', async () => {
    const gbk = path.join(work, 'gbk.csv');
    copyFileSync(path.join(FIXTURES, 'county', 'penalty-messy-gbk.csv'), gbk);
    const r = await run(['ingest', gbk, '--county', '230184', '--encoding', 'utf-8', '--json'], env);
    expect([0, 2]).toContain(r.code);
    expect(r.stderr).not.toMatch(/内部错误/);
    // sanity: the bytes really are not UTF-8
    expect(iconv.decode(readFileSync(gbk), 'gb18030')).toMatch(/行政相对人/);
  });
});

describe('the real upload templates of two provinces', () => {
  const dir = path.resolve(REPO, '..', 'shared', 'reference', 'real-templates');
  const work = mkdtempSync(path.join(tmpdir(), 'guiji-cli-'));
  const env = { GUIJI_HOME: path.join(work, 'home'), DATABASE_URL: undefined, GUIJI_CONFIG: undefined };
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => /\.xlsx?$/.test(f)) : [];

  it('are all present (shared/ beside the repo)', () => {
    expect(files.length).toBe(5);
  });

  for (const name of files) {
    it(`${name} is recognised or refused with a useful message, never a crash`, async () => {
      const r = await run(['ingest', path.join(dir, name), '--county', '230184', '--json'], env);
      expect(r.stderr).not.toMatch(/内部错误/);
      expect([0, 2]).toContain(r.code);
      if (name.endsWith('.xls')) {
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(/另存为/);
      } else if (r.code === 2) {
        // Recognised as a catalog, but columns are missing: the message names them.
        expect(r.stderr).toMatch(/缺少必填列|没有数据|NO_DATA|SHEET_EMPTY|REQUIRED_COLUMN_MISSING/);
      }
    });
  }
});

async function queryWarehouse(
  kind: string,
  env: Record<string, string | undefined>,
  sql: string,
): Promise<Array<Record<string, unknown>>> {
  if (kind === 'postgres') {
    const c = new pg.Client({ connectionString: env.DATABASE_URL });
    await c.connect();
    try {
      return (await c.query(sql)).rows;
    } finally {
      await c.end();
    }
  }
  // The embedded warehouse is locked while a CLI runs; between runs a test may open it.
  const { openWarehouse } = await import('../../src/warehouse/open.js');
  const wh = await openWarehouse({ home: env.GUIJI_HOME as string });
  try {
    const res = await wh.knex.raw(sql);
    return (res.rows ?? res) as Array<Record<string, unknown>>;
  } finally {
    await wh.close();
  }
}

/**
 * Distributed-mode test rig: a migrated PostgreSQL schema of its own, a queue prefix and a spool of its
 * own, `guiji worker` child processes and `guiji` commands run against them — real servers, no mocks.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { FIXTURES, REPO } from './ingest.js';
import { openTestWarehouse, TEST_DATABASE_URL, type TestWarehouse } from './warehouses.js';

export const BIN = path.join(REPO, 'dist', 'cli', 'main.js');
export const TEST_REDIS_URL = process.env.GUIJI_TEST_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

async function probeRedis(url: string): Promise<string | undefined> {
  const r = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 3000,
    retryStrategy: () => null,
  });
  try {
    await r.connect();
    await r.ping();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  } finally {
    r.disconnect();
  }
}

export const redisProblem = await probeRedis(TEST_REDIS_URL);
if (redisProblem !== undefined && process.env.CI === 'true') {
  throw new Error(`Redis at ${TEST_REDIS_URL} is not reachable (CI=true): ${redisProblem}`);
}

/** A connection string whose sessions work in `schema` (pg passes `options` at start-up). */
export function urlWithSchema(url: string, schema: string): string {
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Rig {
  tw: TestWarehouse;
  schema: string;
  env: Record<string, string>;
  spool: string;
  /** Runs a guiji command to its end. */
  run(args: string[], env?: Record<string, string>): Promise<Run>;
  /** Starts a command in the background (e.g. an ingest to follow while the test breaks things). */
  start(args: string[], env?: Record<string, string>): Background;
  /** Starts `guiji worker`; resolves once it says it started. */
  worker(env?: Record<string, string>, args?: string[]): Promise<Background>;
  dispose(): Promise<void>;
}

export interface Background {
  child: ChildProcess;
  /** stdout and stderr, interleaved. */
  output(): string;
  stdout(): string;
  /** Resolves with the exit code. */
  exited: Promise<number>;
  stop(signal?: NodeJS.Signals): Promise<number>;
}

export async function makeRig(label: string, extraEnv: Record<string, string> = {}): Promise<Rig> {
  const tw = await openTestWarehouse('postgres', label);
  const schema = ((await tw.wh.knex.raw('select current_schema() as s')).rows[0] as { s: string }).s;
  const spool = mkdtempSync(path.join(tmpdir(), 'guiji-spool-'));
  const prefix = `t${label.replace(/[^a-z0-9]/gi, '').slice(0, 12)}${process.pid}${Math.random().toString(36).slice(2, 6)}`;
  const env: Record<string, string> = {
    DATABASE_URL: urlWithSchema(TEST_DATABASE_URL, schema),
    REDIS_URL: TEST_REDIS_URL,
    GUIJI_QUEUE_PREFIX: prefix,
    GUIJI_SPOOL: spool,
    GUIJI_HOME: tw.home,
    GUIJI_CONFIG: path.join(FIXTURES, 'counties.json'),
    GUIJI_LOCK_MS: '3000',
    GUIJI_RECONCILE_MS: '1000',
    LOG_LEVEL: 'warn',
    TZ: 'Asia/Shanghai',
    ...extraEnv,
  };
  const children = new Set<Background>();
  const childEnv = (more?: Record<string, string>) => {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries({ ...process.env, ...env, ...more })) if (v !== undefined) out[k] = v;
    return out;
  };
  const start = (args: string[], more?: Record<string, string>): Background => {
    const child = spawn('node', [BIN, ...args], { env: childEnv(more), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let stdout = '';
    child.stdout?.on('data', (d) => {
      out += d;
      stdout += d;
    });
    child.stderr?.on('data', (d) => {
      out += d;
    });
    const exited = new Promise<number>((resolve) => child.on('exit', (code, sig) => resolve(code ?? (sig ? 128 : 1))));
    const bg: Background = {
      child,
      output: () => out,
      stdout: () => stdout,
      exited,
      async stop(signal = 'SIGTERM') {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        return exited;
      },
    };
    children.add(bg);
    exited.then(() => children.delete(bg));
    return bg;
  };
  return {
    tw,
    schema,
    env,
    spool,
    run(args, more) {
      return new Promise((resolve) => {
        execFile('node', [BIN, ...args], { env: childEnv(more), maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
        });
      });
    },
    start,
    async worker(more, args = []) {
      const bg = start(['worker', ...args], more);
      const t0 = Date.now();
      while (!bg.output().includes('已启动')) {
        if (bg.child.exitCode !== null) throw new Error(`worker exited: ${bg.output()}`);
        if (Date.now() - t0 > 20_000) throw new Error(`worker did not start: ${bg.output()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return bg;
    },
    async dispose() {
      await Promise.all([...children].map((c) => c.stop('SIGKILL')));
      const redis = new Redis(env.REDIS_URL ?? TEST_REDIS_URL, { maxRetriesPerRequest: 1, retryStrategy: () => null });
      redis.on('error', () => {});
      try {
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
          cursor = next;
          if (keys.length > 0) await redis.del(...keys);
        } while (cursor !== '0');
      } catch {
        // a test's own Redis may be gone already
      } finally {
        redis.disconnect();
      }
      await tw.dispose();
      rmSync(spool, { recursive: true, force: true });
    },
  };
}

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export function jsonLines(out: string): Array<Record<string, number | string | null>> {
  return out
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .map((l) => JSON.parse(l));
}

export const OUTCOME_KEYS = ['inserted', 'updated', 'unchanged', 'duplicate', 'rejected'] as const;

export function sumOutcomes(s: Record<string, unknown>): number {
  return OUTCOME_KEYS.reduce((n, k) => n + Number(s[k]), 0);
}

/** Polls until `check` returns true (or throws after `ms`). */
export async function waitFor(check: () => Promise<boolean> | boolean, ms = 30_000, what = 'condition'): Promise<void> {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A loopback TCP proxy the test controls: `cut()` drops every connection and refuses new ones. */
export interface TcpProxy {
  port: number;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const { createConnection } = await import('node:net');
  const sockets = new Set<import('node:net').Socket>();
  let down = false;
  const server = createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = createConnection({ host: targetHost, port: targetPort });
    sockets.add(client);
    sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    cut() {
      down = true;
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    restore() {
      down = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A Redis server of the test's own (its own port, nothing on disk), which the test may kill and restart. */
export interface OwnRedis {
  url: string;
  kill(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const up = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    const url = `redis://127.0.0.1:${port}`;
    await waitFor(async () => (await probeRedis(url)) === undefined, 10_000, `redis on ${port}`);
  };
  const down = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await gone;
  };
  await up();
  return { url: `redis://127.0.0.1:${port}`, kill: down, restart: up, stop: down };
}

/** A generated penalty CSV and the inline executor's outcomes on it (its own schema, no Redis): the reference. */
export interface ReferenceFile {
  dir: string;
  csv: string;
  rows: number;
  inline: Record<string, number | string | null>;
  dispose(): void;
}

export async function referenceFile(rows: number, seed: number): Promise<ReferenceFile> {
  const { execFileSync } = await import('node:child_process');
  const dir = mkdtempSync(path.join(tmpdir(), 'guiji-ref-'));
  const csv = path.join(dir, `penalty-${rows}.csv`);
  execFileSync('node', [path.join(REPO, 'scripts/gen-penalty-csv.mjs'), String(rows), csv, '--seed', String(seed)]);
  const rig = await makeRig('inline-ref');
  try {
    const r = await rig.run(['ingest', '--json', csv], { REDIS_URL: '' });
    if (r.code !== 0) throw new Error(`inline reference ingest failed: ${r.stderr}`);
    const inline = jsonLines(r.stdout)[0] as Record<string, number>;
    return { dir, csv, rows, inline, dispose: () => rmSync(dir, { recursive: true, force: true }) };
  } finally {
    await rig.dispose();
  }
}

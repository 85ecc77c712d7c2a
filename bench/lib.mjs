// Helpers for bench/run.mjs: timing child processes with their peak RSS, PostgreSQL databases,
// machine facts. Plain Node ESM, no build step.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { cpus, freemem, totalmem } from 'node:os';
import { join } from 'node:path';

const GNU_TIME = '/usr/bin/time';
const hasGnuTime = existsSync(GNU_TIME) && spawnSync(GNU_TIME, ['-f', '%M', 'true']).status === 0;

/**
 * Run a command as a child process and measure it: wall time (ms) and the child's peak RSS (MB),
 * from GNU time's %M when /usr/bin/time exists, else by sampling VmHWM in /proc/<pid>/status.
 * @returns {Promise<{code: number|null, wallMs: number, peakRssMb: number|null, stdout: string, stderr: string}>}
 */
export function measure(cmd, args, { env = process.env, timeoutMs = 60 * 60_000, tmpDir } = {}) {
  const timeOut = hasGnuTime && tmpDir ? join(tmpDir, `time-${process.pid}-${Date.now()}.txt`) : undefined;
  const [file, argv] = timeOut ? [GNU_TIME, ['-f', '%M', '-o', timeOut, cmd, ...args]] : [cmd, args];
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(file, argv, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const out = [];
    const err = [];
    child.stdout.on('data', (b) => out.push(b));
    child.stderr.on('data', (b) => err.push(b));
    let sampled = 0;
    const sampler = timeOut
      ? undefined
      : setInterval(() => {
          try {
            const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
            if (m) sampled = Math.max(sampled, Number(m[1]));
          } catch {
            // the child has exited between two samples
          }
        }, 20);
    const timer = setTimeout(() => {
      // Our own child's process group only.
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = performance.now() - started;
      clearTimeout(timer);
      if (sampler) clearInterval(sampler);
      let peakKb = sampled || null;
      if (timeOut) {
        const lines = existsSync(timeOut) ? readFileSync(timeOut, 'utf8').trim().split('\n') : [];
        const last = Number(lines.at(-1));
        peakKb = Number.isFinite(last) ? last : null;
        rmSync(timeOut, { force: true });
      }
      resolve({
        code,
        wallMs,
        peakRssMb: peakKb === null ? null : peakKb / 1024,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
}

export const rssMethod = hasGnuTime
  ? 'GNU time %M (max RSS of the child)'
  : 'VmHWM of /proc/<pid>/status sampled every 20 ms';

/** Run psql synchronously against a database URL; throws with psql's stderr on failure. */
export function psql(url, sql) {
  const r = spawnSync('psql', ['-X', '-q', '-tA', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', sql], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`psql failed: ${r.stderr || r.stdout}`);
  return r.stdout;
}

/** Drop and create a database on the server of `baseUrl`; returns its URL. */
export function freshDatabase(baseUrl, name) {
  const admin = `${baseUrl}/postgres`;
  psql(admin, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  psql(admin, `CREATE DATABASE ${name}`);
  return `${baseUrl}/${name}`;
}

export function dropDatabase(baseUrl, name) {
  psql(`${baseUrl}/postgres`, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}

/** Facts about the machine for RESULTS.md. */
export function machineInfo(baseUrl) {
  const sh = (c, a) => {
    const r = spawnSync(c, a, { encoding: 'utf8' });
    return r.status === 0 ? r.stdout.trimEnd() : `(${c} unavailable)`;
  };
  let cpuModel = cpus()[0]?.model ?? 'unknown';
  try {
    const m = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpuModel = m[1];
  } catch {}
  let pgVersion = 'unavailable';
  try {
    pgVersion = psql(`${baseUrl}/postgres`, 'SHOW server_version').trim();
  } catch {}
  return {
    date: new Date().toISOString(),
    nproc: sh('nproc', []),
    free: sh('free', ['-g']),
    cpuModel,
    memGb: `${(totalmem() / 2 ** 30).toFixed(1)} GiB total, ${(freemem() / 2 ** 30).toFixed(1)} GiB free`,
    node: process.version,
    postgres: pgVersion,
    psql: sh('psql', ['--version']),
  };
}

/** Sum the per-batch JSON lines `guiji ingest --json` prints. */
export function sumBatches(stdout) {
  const sum = { batches: 0, total: 0, inserted: 0, updated: 0, unchanged: 0, duplicate: 0, rejected: 0, warnings: 0 };
  for (const line of stdout.split('\n')) {
    const t = line.trim();
    if (!t.startsWith('{')) continue;
    let o;
    try {
      o = JSON.parse(t);
    } catch {
      continue;
    }
    sum.batches++;
    for (const k of Object.keys(sum)) if (k !== 'batches' && typeof o[k] === 'number') sum[k] += o[k];
  }
  return sum;
}

export const fmtS = (ms) => (ms / 1000).toFixed(2);
export const fmtMb = (mb) => (mb === null || mb === undefined ? 'n/a' : mb.toFixed(0));
export const ratio = (a, b) => (b > 0 ? a / b : Number.NaN);

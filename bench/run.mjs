#!/usr/bin/env node
// guiji benchmarks (issue 2, "Done when"). Every figure is measured next to its baseline in the
// same run, each as a child process; data generation is never timed. Writes bench/RESULTS.md.
//
//   npm run bench                     # build, then everything at full size
//   node bench/run.mjs --only a,b     # some parts (a CSV→PG, b re-ingest, c flatness, d xlsx, e embedded,
//                                     #   f BullMQ workers vs inline: CPU, rows/s, Redis memory,
//                                     #   g steward review: pages, facets, annotated workbook — bench/review.mjs)
//   node bench/run.mjs --rows 100000  # smaller CSV (c uses rows/4, d uses rows/10)
//   options: --xlsx-rows N  --pg postgres://postgres@127.0.0.1:5432  --keep (keep bench databases)
//            --out FILE (default bench/RESULTS.md)  --no-cli (baselines only)
//            --repeat N (parts a and f: each run N times, alternating with its baseline; medians reported)
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PENALTY_HEADERS } from '../scripts/penalty-rows.mjs';
import {
  dropDatabase,
  fmtMb,
  fmtS,
  freshDatabase,
  machineInfo,
  measure,
  ratio,
  rssMethod,
  sumBatches,
} from './lib.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DATA = join(ROOT, 'bench', 'data');
const OUT = join(ROOT, 'bench', 'out');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const COUNTY = '230184';

// ---- arguments ----
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const ROWS = Number(opt('rows', 1_000_000));
const SMALL_ROWS = Math.max(1, Math.round(ROWS / 4));
const XLSX_ROWS = Number(opt('xlsx-rows', Math.max(1, Math.round(ROWS / 10))));
const COUNTY_ROWS = 1000;
const REDIS = opt('redis', process.env.BENCH_REDIS ?? 'redis://127.0.0.1:6379');
const PG = opt('pg', process.env.BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432').replace(/\/+$/, '');
const ONLY = new Set((opt('only', 'a,b,c,d,e,f,g') ?? '').split(',').map((s) => s.trim()));
const KEEP = args.includes('--keep');
// On a shared 2-core VM one run of a minute swings by ±10–20 %: --repeat gives medians of alternated runs.
const REPEAT = Math.max(1, Math.floor(Number(opt('repeat', 1))) || 1);
/** The median (the lower middle one of an even count). */
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
/** Run numbers as a label suffix: none for a single run. */
const nth = (i) => (REPEAT > 1 ? `-${i}` : '');
const RESULTS = resolve(opt('out', join(ROOT, 'bench', 'RESULTS.md')));
mkdirSync(DATA, { recursive: true });
mkdirSync(OUT, { recursive: true });

const rel = (p) => relative(ROOT, p) || '.';
const log = (...m) => console.error('[bench]', ...m);
// --no-cli measures the baselines only (e.g. while the CLI is being built).
const cliReady = existsSync(CLI) && !args.includes('--no-cli');
const results = []; // sections of RESULTS.md
const commands = []; // exact commands run, in order
const databases = [];

// ---- data (generated once, never timed) ----
function ensure(file, script, scriptArgs) {
  // The generator's stats (rows with a defect, repeated keys) come with the file; older files are remade.
  if (existsSync(file) && existsSync(`${file}.stats.json`)) return file;
  log(`generating ${rel(file)} …`);
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', script), ...scriptArgs, file], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${script} failed`);
  return file;
}
/**
 * Whether a run's outcomes are what the generated file holds: every row with a defect rejected, every
 * repeated key a duplicate, nothing lost (total = rows).
 */
function expectedText(file, sums) {
  const st = JSON.parse(readFileSync(`${file}.stats.json`, 'utf8'));
  const ok = sums.total === st.rows && sums.rejected === st.defects && sums.duplicate === st.duplicates;
  return `the file holds ${st.rows} rows, ${st.defects} with a defect and ${st.duplicates} repeated keys, so rejected = ${st.defects} and duplicate = ${st.duplicates}: ${verdict(ok)}`;
}
const csvFile = (n) => ensure(join(DATA, `penalty-${n}.csv`), 'gen-penalty-csv.mjs', [String(n)]);
const xlsxFile = (n) => ensure(join(DATA, `penalty-${n}.xlsx`), 'gen-penalty-xlsx.mjs', [String(n)]);
/** Read a file once so every timed run starts from the same (warm) page cache. */
const warm = (file) => spawnSync('cat', [file], { stdio: ['ignore', 'ignore', 'ignore'] });

// ---- one measured run ----
function shellQuote(s) {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}
async function run(label, cmd, cmdArgs, env = {}) {
  // `env -u K` options must precede the assignments.
  const envText = Object.entries(env)
    .sort(([, a], [, b]) => Number(a !== undefined) - Number(b !== undefined))
    .map(([k, v]) => (v === undefined ? `-u ${k}` : `${k}=${shellQuote(v)}`))
    .join(' ')
    .replace(/^(?=-u )/, 'env ');
  const shown = [cmd === process.execPath ? 'node' : cmd, ...cmdArgs].map((a) =>
    shellQuote(a.startsWith(`${ROOT}/`) ? rel(a) : a),
  );
  commands.push(`${envText ? `${envText} ` : ''}${shown.join(' ')}`);
  const childEnv = { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete childEnv[k];
    else childEnv[k] = v;
  }
  log(`${label}: ${commands.at(-1)}`);
  const r = await measure(cmd, cmdArgs, { env: childEnv, tmpDir: OUT });
  const slug = label.replace(/[^\w-]+/g, '_');
  writeFileSync(join(OUT, `${slug}.stdout.txt`), r.stdout);
  writeFileSync(join(OUT, `${slug}.stderr.txt`), r.stderr);
  log(`${label}: exit ${r.code}, ${fmtS(r.wallMs)} s, peak RSS ${fmtMb(r.peakRssMb)} MB`);
  if (r.code !== 0) log(`${label} stderr (tail):\n${r.stderr.split('\n').slice(-15).join('\n')}`);
  return r;
}

function cliMissing(part) {
  const msg = existsSync(CLI)
    ? `part ${part}: guiji not run (--no-cli); baseline only.`
    : `part ${part}: SKIPPED — ${rel(CLI)} is missing; run \`npm run build\` (the CLI is built from cli/main.ts).`;
  log(msg);
  return msg;
}

/**
 * Writes out what earlier runs left dirty (a checkpoint), before a timed run: otherwise the run pays for
 * its predecessor's million rows (the psql baseline's or guiji's), whichever came before it.
 */
function settle() {
  spawnSync('psql', ['-X', '-q', '-d', `${PG}/postgres`, '-c', 'CHECKPOINT']);
}

function benchDb(suffix) {
  const name = `guiji_bench_${suffix}`;
  databases.push(name);
  return freshDatabase(PG, name);
}

async function migrate(url, label) {
  const r = await run(`${label}-migrate`, process.execPath, [CLI, 'migrate'], { DATABASE_URL: url });
  if (r.code !== 0) throw new Error(`guiji migrate failed (exit ${r.code}): ${r.stderr.slice(-2000)}`);
  return r;
}

async function ingest(label, file, env, extra = []) {
  // The inline executor unless a part asks for Redis: an operator's REDIS_URL must not leak in.
  const r = await run(label, process.execPath, [CLI, 'ingest', file, '--county', COUNTY, '--json', ...extra], {
    REDIS_URL: undefined,
    ...env,
  });
  return { ...r, sums: sumBatches(r.stdout) };
}

const verdict = (ok) => (ok ? 'met' : '**not met**');
const outcomeText = (s) =>
  `total ${s.total} = inserted ${s.inserted} + updated ${s.updated} + unchanged ${s.unchanged} + duplicate ${s.duplicate} + rejected ${s.rejected} (warnings ${s.warnings}, batches ${s.batches})`;

// ---- baselines ----

/** psql \copy of the CSV into a temp text table, then one keyed upsert, in one psql session. */
async function psqlBaseline(file) {
  const url = benchDb('baseline');
  const cols = PENALTY_HEADERS.map((_, i) => `c${i + 1}`);
  // Natural key as DESIGN.md §2 (文号, authority USCC, subject key); in-file repeats collapse first,
  // since ON CONFLICT cannot touch one row twice in a statement.
  const docNo = "coalesce(c14, '')";
  const auth = "coalesce(c27, '')";
  const subject = "coalesce(nullif(c3, ''), nullif(c13, ''), c1, '')";
  const sql = [
    '\\timing on',
    `CREATE TEMP TABLE tmp (${cols.map((c) => `${c} text`).join(', ')});`,
    `\\copy tmp from '${file}' csv header`,
    `CREATE TABLE bench_penalty (${cols.map((c) => `${c} text`).join(', ')}, doc_no text NOT NULL, authority_uscc text NOT NULL, subject_key text NOT NULL, PRIMARY KEY (doc_no, authority_uscc, subject_key));`,
    `INSERT INTO bench_penalty SELECT DISTINCT ON (${docNo}, ${auth}, ${subject}) ${cols.join(', ')}, ${docNo}, ${auth}, ${subject} FROM tmp ORDER BY ${docNo}, ${auth}, ${subject}`,
    `  ON CONFLICT (doc_no, authority_uscc, subject_key) DO UPDATE SET ${cols.map((c) => `${c} = EXCLUDED.${c}`).join(', ')};`,
    '',
  ].join('\n');
  const script = join(OUT, 'baseline-copy-upsert.sql');
  writeFileSync(script, sql);
  settle();
  const r = await run('psql-copy-upsert', 'psql', ['-X', '-v', 'ON_ERROR_STOP=1', '-d', url, '-f', script]);
  if (r.code !== 0) throw new Error(`psql baseline failed: ${r.stderr}`);
  // \timing prints one "Time: … ms" per statement: create temp, copy, create table, upsert.
  const steps = [...r.stdout.matchAll(/Time: ([\d.]+) ms/g)].map((m) => Number(m[1]));
  const loaded = /COPY (\d+)/.exec(r.stdout)?.[1];
  const upserted = /INSERT 0 (\d+)/.exec(r.stdout)?.[1];
  return { ...r, steps, loaded: Number(loaded), upserted: Number(upserted), script };
}

// ---- parts ----
const state = {};

async function partA() {
  const file = csvFile(ROWS);
  warm(file);
  // Baseline and guiji alternate, each into a fresh database; the last guiji database stays for part b.
  const bases = [];
  const runs = [];
  for (let i = 1; i <= REPEAT; i++) {
    bases.push(await psqlBaseline(file));
    if (!cliReady) break;
    const url = benchDb('csv');
    await migrate(url, `a${nth(i)}`);
    settle();
    const r = await ingest(`a-ingest-csv${nth(i)}`, file, { DATABASE_URL: url });
    runs.push(r);
    state.a = { url, file, first: r };
  }
  const base = bases.at(-1);
  const baseWall = median(bases.map((b) => b.wallMs));
  const section = [
    `## a. ${ROWS.toLocaleString('en')}-row penalty CSV → PostgreSQL`,
    '',
    `File: \`${rel(file)}\` (${(statSync(file).size / 2 ** 20).toFixed(0)} MB, UTF-8, generated by \`node scripts/gen-penalty-csv.mjs ${ROWS} ${rel(file)}\`).`,
    '',
    `Baseline, one psql session (\`${rel(base.script)}\`): \`\\copy\` into a temp table of 30 text columns, then one \`INSERT … SELECT DISTINCT ON (key) … ON CONFLICT DO UPDATE\` into a table keyed on (文号, 处罚机关USCC, subject key): **${fmtS(baseWall)} s**${REPEAT > 1 ? ` (median of ${bases.length})` : ''} (copy ${fmtS(base.steps[1] ?? 0)} s, upsert ${fmtS(base.steps[3] ?? 0)} s; ${base.loaded} rows copied, ${base.upserted} upserted).`,
    '',
  ];
  if (!cliReady) {
    results.push([...section, cliMissing('a'), ''].join('\n'));
    return;
  }
  const wall = median(runs.map((r) => r.wallMs));
  const peak = Math.max(...runs.map((r) => r.peakRssMb ?? Number.POSITIVE_INFINITY));
  const x = ratio(wall, baseWall);
  const rate = (ms) => Math.round(ROWS / (ms / 1000)).toLocaleString('en');
  const sums = runs.map((r) => r.sums);
  section.push(
    '| measure | guiji ingest | baseline (psql) | ratio | target |',
    '|---|---|---|---|---|',
    `| wall time${REPEAT > 1 ? ` (median of ${REPEAT})` : ''} | ${fmtS(wall)} s | ${fmtS(baseWall)} s | ${x.toFixed(2)}× | ≤ 2× — ${verdict(x <= 2)} |`,
    `| rows/s | ${rate(wall)} | ${rate(baseWall)} | | ≥ 30,000 — ${verdict(ROWS / (wall / 1000) >= 30_000)} |`,
    `| peak RSS${REPEAT > 1 ? ' (highest)' : ''} | ${fmtMb(peak)} MB | (server-side) | | < 300 MB — ${verdict(peak < 300)} |`,
    '',
    ...(REPEAT > 1
      ? [
          `Each pair, in the order run (baseline, then guiji): ${runs.map((r, i) => `${fmtS(bases[i].wallMs)} s / ${fmtS(r.wallMs)} s = ${ratio(r.wallMs, bases[i].wallMs).toFixed(2)}×`).join('; ')}.`,
          '',
        ]
      : []),
    `Exit code ${runs.map((r) => r.code).join(', ')}. Outcomes: ${outcomeText(sums.at(-1))}; ${expectedText(file, sums.at(-1))}${sums.every((x) => JSON.stringify(x) === JSON.stringify(sums[0])) ? '' : ' (the runs differ: see the stdout files in bench/out)'}.`,
    '',
  );
  results.push(section.join('\n'));
}

async function partB() {
  if (!cliReady) {
    results.push(`## b. Re-ingest of the same CSV\n\n${cliMissing('b')}\n`);
    return;
  }
  if (!state.a) await partA();
  const { url, file, first } = state.a;
  warm(file);
  settle();
  const r = await ingest('b-reingest-csv', file, { DATABASE_URL: url });
  const x = ratio(r.wallMs, first.wallMs);
  results.push(
    [
      '## b. The same CSV ingested a second time (all unchanged)',
      '',
      '| measure | second ingest | first ingest (a) | ratio | target |',
      '|---|---|---|---|---|',
      `| wall time | ${fmtS(r.wallMs)} s | ${fmtS(first.wallMs)} s | ${x.toFixed(2)}× | ≤ 1× — ${verdict(x <= 1)} |`,
      `| peak RSS | ${fmtMb(r.peakRssMb)} MB | ${fmtMb(first.peakRssMb)} MB | | |`,
      '',
      `Exit code ${r.code}. Outcomes: ${outcomeText(r.sums)}; expected inserted = updated = 0 and unchanged = first run's inserted + updated (${first.sums.inserted + first.sums.updated}): ${verdict(r.sums.inserted === 0 && r.sums.updated === 0 && r.sums.unchanged === first.sums.inserted + first.sums.updated)}.`,
      '',
    ].join('\n'),
  );
}

async function partC() {
  if (!cliReady) {
    results.push(`## c. Flatness of memory as the CSV grows\n\n${cliMissing('c')}\n`);
    return;
  }
  if (!state.a) await partA();
  const small = csvFile(SMALL_ROWS);
  warm(small);
  const url = benchDb('csv_small');
  await migrate(url, 'c');
  const r = await ingest('c-ingest-csv-small', small, { DATABASE_URL: url });
  const big = state.a.first;
  const growth = (big.peakRssMb ?? 0) - (r.peakRssMb ?? 0);
  results.push(
    [
      '## c. Peak RSS as the CSV grows',
      '',
      '| rows | wall time | rows/s | peak RSS |',
      '|---|---|---|---|',
      `| ${SMALL_ROWS.toLocaleString('en')} | ${fmtS(r.wallMs)} s | ${Math.round(SMALL_ROWS / (r.wallMs / 1000)).toLocaleString('en')} | ${fmtMb(r.peakRssMb)} MB |`,
      `| ${ROWS.toLocaleString('en')} | ${fmtS(big.wallMs)} s | ${Math.round(ROWS / (big.wallMs / 1000)).toLocaleString('en')} | ${fmtMb(big.peakRssMb)} MB |`,
      '',
      `Growth for ${(ROWS / SMALL_ROWS).toFixed(0)}× the rows: ${growth.toFixed(0)} MB (target: flat, i.e. within ~32 MB — ${verdict(Math.abs(growth) <= 32)}). Exit code ${r.code}; outcomes at ${SMALL_ROWS}: ${outcomeText(r.sums)}; ${expectedText(small, r.sums)}.`,
      '',
    ].join('\n'),
  );
}

async function partD() {
  const file = xlsxFile(XLSX_ROWS);
  warm(file);
  // The bare read's peak RSS swings with when V8 collects (186–405 MB seen for this file): median of 3.
  const bareRuns = [];
  for (let i = 1; i <= 3; i++) {
    bareRuns.push(
      await run(`d-bare-exceljs-read-${i}`, process.execPath, [join(ROOT, 'bench', 'bare-xlsx-read.mjs'), file]),
    );
  }
  const bare = {
    ...bareRuns[0],
    wallMs: median(bareRuns.map((r) => r.wallMs)),
    peakRssMb: median(bareRuns.map((r) => r.peakRssMb ?? 0)),
  };
  const bareSpread = `runs: ${bareRuns.map((r) => `${fmtS(r.wallMs)} s / ${fmtMb(r.peakRssMb)} MB`).join(', ')}`;
  let bareInfo = {};
  try {
    bareInfo = JSON.parse(bare.stdout.trim().split('\n').at(-1) ?? '{}');
  } catch {}
  const section = [
    `## d. ${XLSX_ROWS.toLocaleString('en')}-row .xlsx → PostgreSQL vs a bare exceljs streaming read`,
    '',
    `File: \`${rel(file)}\` (${(statSync(file).size / 2 ** 20).toFixed(1)} MB, generated by \`node scripts/gen-penalty-xlsx.mjs ${XLSX_ROWS} ${rel(file)}\`; dates as date cells, codes as text).`,
    `Baseline \`bench/bare-xlsx-read.mjs\`: exceljs WorkbookReader (sharedStrings cache, styles cache), every row and cell visited, median of 3: **${fmtS(bare.wallMs)} s, peak RSS ${fmtMb(bare.peakRssMb)} MB** (${bareInfo.rows ?? '?'} rows incl. header, ${bareInfo.cells ?? '?'} cells; ${bareSpread}).`,
    '',
  ];
  if (!cliReady) {
    results.push([...section, cliMissing('d'), ''].join('\n'));
    return;
  }
  const url = benchDb('xlsx');
  await migrate(url, 'd');
  const r = await ingest('d-ingest-xlsx', file, { DATABASE_URL: url });
  const x = ratio(r.wallMs, bare.wallMs);
  const extra = (r.peakRssMb ?? 0) - (bare.peakRssMb ?? 0);
  section.push(
    '| measure | guiji ingest | bare exceljs read | ratio / difference | target |',
    '|---|---|---|---|---|',
    `| wall time | ${fmtS(r.wallMs)} s | ${fmtS(bare.wallMs)} s | ${x.toFixed(2)}× | ≤ 1.3× — ${verdict(x <= 1.3)} |`,
    `| peak RSS | ${fmtMb(r.peakRssMb)} MB | ${fmtMb(bare.peakRssMb)} MB | ${extra >= 0 ? '+' : ''}${extra.toFixed(0)} MB | ≤ +64 MB — ${verdict(extra <= 64)} |`,
    '',
    `Exit code ${r.code}. Outcomes: ${outcomeText(r.sums)}; ${expectedText(file, r.sums)}.`,
    '',
  );
  results.push(section.join('\n'));
}

async function partE() {
  const file = ensure(join(DATA, `county-${COUNTY_ROWS}.xlsx`), 'gen-penalty-xlsx.mjs', [
    String(COUNTY_ROWS),
    '--seed',
    '7',
  ]);
  warm(file);
  const base = await run('e-node-start', process.execPath, ['-e', '0']);
  const section = [
    `## e. ${COUNTY_ROWS.toLocaleString('en')}-row county .xlsx → embedded warehouse (PGlite), CLI start included`,
    '',
    `Baseline \`node -e 0\`: **${fmtS(base.wallMs)} s**.`,
    '',
  ];
  if (!cliReady) {
    results.push([...section, cliMissing('e'), ''].join('\n'));
    return;
  }
  const home = mkdtempSync(join(tmpdir(), 'guiji-bench-home-'));
  try {
    const env = { DATABASE_URL: undefined, REDIS_URL: undefined, GUIJI_HOME: home };
    // A clerk's laptop has its warehouse already: create it first (timed separately, PGlite's initdb),
    // then time the ingest a clerk waits for.
    const init = await run('e-migrate-embedded', process.execPath, [CLI, 'migrate'], env);
    const r = await ingest('e-ingest-embedded', file, env);
    section.push(
      '| measure | guiji ingest (existing GUIJI_HOME) | node -e 0 | target |',
      '|---|---|---|---|',
      `| wall time | ${fmtS(r.wallMs)} s | ${fmtS(base.wallMs)} s | ≤ 3 s — ${verdict(r.code === 0 && r.wallMs <= 3000)} |`,
      `| peak RSS | ${fmtMb(r.peakRssMb)} MB | ${fmtMb(base.peakRssMb)} MB | |`,
      '',
      `Creating the embedded warehouse beforehand (\`guiji migrate\` on an empty GUIJI_HOME, once per machine): ${fmtS(init.wallMs)} s. Exit code ${r.code}. Outcomes: ${outcomeText(r.sums)}; ${expectedText(file, r.sums)}.`,
      '',
    );
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
  results.push(section.join('\n'));
}

// ---- f. BullMQ workers ----

/** CPU seconds (user + system) so far: this process's reaped children, every PostgreSQL process, Redis. */
function cpuSnapshot() {
  const tick = 100; // USER_HZ on Linux
  const stat = (pid) => {
    try {
      const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      // fields after comm: state(0) ... utime(11) stime(12) cutime(13) cstime(14)
      return {
        comm: s.slice(s.indexOf('(') + 1, s.lastIndexOf(')')),
        u: Number(f[11]),
        s: Number(f[12]),
        cu: Number(f[13]),
        cs: Number(f[14]),
      };
    } catch {
      return undefined;
    }
  };
  const self = stat(process.pid);
  let postgres = 0;
  let redis = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    const x = stat(pid);
    if (!x) continue;
    // Exited backends are in the postmaster's cutime/cstime (it reaps them).
    if (x.comm === 'postgres') postgres += x.u + x.s + x.cu + x.cs;
    else if (x.comm.startsWith('redis-server')) redis += x.u + x.s;
  }
  return { guiji: (self.cu + self.cs) / tick, postgres: postgres / tick, redis: redis / tick };
}

const cpuDelta = (a, b) => ({ guiji: b.guiji - a.guiji, postgres: b.postgres - a.postgres, redis: b.redis - a.redis });

async function redisMemory() {
  const r = spawnSync('redis-cli', ['-u', REDIS, 'info', 'memory'], { encoding: 'utf8' });
  const m = /used_memory:(\d+)/.exec(r.stdout ?? '');
  return m ? Number(m[1]) : Number.NaN;
}

async function startWorkers(n, env) {
  const { spawn } = await import('node:child_process');
  const procs = [];
  for (let i = 0; i < n; i++) {
    const child = spawn(process.execPath, [CLI, 'worker'], {
      env: { ...process.env, LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
    });
    const exited = new Promise((r) => child.on('exit', r));
    procs.push({ child, exited, err: () => err });
  }
  const t0 = Date.now();
  while (!procs.every((p) => p.err().includes('已启动'))) {
    if (Date.now() - t0 > 60_000) throw new Error(`workers did not start: ${procs.map((p) => p.err()).join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  commands.push(
    `${Object.entries(env)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')} node dist/cli/main.js worker   # ×${n}, in the background`,
  );
  return {
    async stop() {
      for (const p of procs) p.child.kill('SIGTERM');
      await Promise.all(procs.map((p) => p.exited));
      // Each worker prints the longest event-loop block it saw (lock renewal runs on that loop).
      const delays = procs.map((p) => Number(/"maxEventLoopDelayMs":(\d+)/.exec(p.err())?.[1] ?? Number.NaN));
      return { maxEventLoopDelayMs: Math.max(...delays) };
    },
  };
}

/** One measured ingest: inline (workers = 0) or through BullMQ with that many worker processes. */
async function distributedRun(label, file, workers, workerEnv = {}) {
  const dbName = label.replace(/[^a-z0-9]/gi, '_').toLowerCase();
  const url = benchDb(dbName);
  await migrate(url, label);
  const prefix = `bench${Date.now().toString(36)}`;
  const spool = mkdtempSync(join(tmpdir(), 'guiji-bench-spool-'));
  const env = { DATABASE_URL: url, GUIJI_SPOOL: spool, GUIJI_QUEUE_PREFIX: prefix };
  let pool;
  try {
    const idle = await redisMemory();
    const before = cpuSnapshot();
    if (workers > 0) {
      env.REDIS_URL = REDIS;
      pool = await startWorkers(workers, { ...env, ...workerEnv });
    }
    let peak = idle;
    const sampler = setInterval(async () => {
      const m = await redisMemory();
      if (m > peak) peak = m;
    }, 100);
    const r = await ingest(label, file, workers > 0 ? env : { ...env, REDIS_URL: undefined });
    clearInterval(sampler);
    const stopped = await pool?.stop();
    pool = undefined;
    const cpu = cpuDelta(before, cpuSnapshot());
    return { ...r, cpu, redisAboveIdleMb: (peak - idle) / 2 ** 20, maxEventLoopDelayMs: stopped?.maxEventLoopDelayMs };
  } finally {
    await pool?.stop().catch(() => {});
    rmSync(spool, { recursive: true, force: true });
    // The next run must not share the machine with PostgreSQL's background work on this one's million rows
    // (autovacuum, checkpoint writes).
    if (!KEEP) {
      dropDatabase(PG, `guiji_bench_${dbName}`);
      settle();
    }
  }
}

async function partF() {
  const section = [
    '## f. The same pipeline through BullMQ workers (issue 3)',
    '',
    `The ${ROWS.toLocaleString('en')}-row CSV of part a, each run into a fresh database: the inline executor (worker threads, no Redis) as the baseline, then \`guiji ingest\` with REDIS_URL set and 1 or 2 \`guiji worker\` processes (concurrency 2 each, chunks of 5,000 rows; stage threads: 2 for one worker, 1 each for two — as many as the cores). CPU seconds are user + system of every process involved: guiji (the client and the workers, with their threads), PostgreSQL (all backends) and Redis, read from /proc. Redis memory is \`used_memory\` sampled every 100 ms, above its value before the run.`,
    '',
  ];
  if (!cliReady) {
    results.push([...section, cliMissing('f'), ''].join('\n'));
    return;
  }
  const big = csvFile(ROWS);
  const small = csvFile(Math.max(1, Math.round(ROWS / 10)));
  warm(big);
  const runs = { inline: [], one: [], two: [] };
  for (let i = 1; i <= REPEAT; i++) {
    runs.inline.push(await distributedRun(`f-inline${nth(i)}`, big, 0));
    runs.one.push(await distributedRun(`f-bullmq-1-worker${nth(i)}`, big, 1));
    // Two processes on two cores: one stage thread each (processes × threads ≈ cores, as the README advises).
    runs.two.push(await distributedRun(`f-bullmq-2-workers${nth(i)}`, big, 2, { GUIJI_THREADS: '1' }));
  }
  const inline = medianRun(runs.inline);
  const one = medianRun(runs.one);
  const two = medianRun(runs.two);
  warm(small);
  const twoSmall = await distributedRun('f-bullmq-2-workers-small', small, 2, { GUIJI_THREADS: '1' });
  const cpuTotal = (r) => r.cpu.guiji + r.cpu.postgres + r.cpu.redis;
  const per1M = (r, n) => (cpuTotal(r) * 1_000_000) / n;
  const rate = (r) => ROWS / (r.wallMs / 1000);
  const row = (name, r) =>
    `| ${name} | ${fmtS(r.wallMs)} s | ${Math.round(rate(r)).toLocaleString('en')} | ${r.cpu.guiji.toFixed(1)} + ${r.cpu.postgres.toFixed(1)} + ${r.cpu.redis.toFixed(1)} = ${per1M(r, ROWS).toFixed(1)} | ${ratio(per1M(r, ROWS), per1M(inline, ROWS)).toFixed(2)}× | ${ratio(rate(r), rate(inline)).toFixed(2)}× | ${r.redisAboveIdleMb.toFixed(2)} MB | ${r.code} |`;
  const cpuOk = ratio(cpuTotal(one), cpuTotal(inline)) <= 1.15 && ratio(cpuTotal(two), cpuTotal(inline)) <= 1.15;
  const rateOk = ratio(rate(two), rate(inline)) >= 0.9;
  const memOk = two.redisAboveIdleMb <= 5 && twoSmall.redisAboveIdleMb <= 5;
  section.push(
    '| run | wall | rows/s | CPU s per 1M rows (guiji + PostgreSQL + Redis) | CPU vs inline | rows/s vs inline | Redis peak above idle | exit |',
    '|---|---|---|---|---|---|---|---|',
    row('inline (baseline)', inline),
    row('BullMQ, 1 worker', one),
    row('BullMQ, 2 workers', two),
    '',
    ...(REPEAT > 1
      ? [
          `Medians of ${REPEAT} runs of each (run in turn: inline, 1 worker, 2 workers, ${REPEAT} times); the wall time is the median of the runs' and the CPU figures are the run's with the median total; Redis peak and event-loop block are the highest. CPU s per 1M rows of each run — inline: ${runs.inline.map((r) => per1M(r, ROWS).toFixed(1)).join(', ')}; 1 worker: ${runs.one.map((r) => per1M(r, ROWS).toFixed(1)).join(', ')}; 2 workers: ${runs.two.map((r) => per1M(r, ROWS).toFixed(1)).join(', ')}.`,
          '',
        ]
      : []),
    `Longest event-loop block in a worker (lock renewal runs on it; lock 30 s, renewed every 15 s): ${one.maxEventLoopDelayMs} ms with 1 worker, ${two.maxEventLoopDelayMs} ms with 2 — the row stages of a chunk (5,000 rows) run in worker threads that read the chunk file themselves, so the event loop stays free.`,
    '',
    `Redis peak above idle with 2 workers: ${twoSmall.redisAboveIdleMb.toFixed(2)} MB for ${Math.round(ROWS / 10).toLocaleString('en')} rows, ${two.redisAboveIdleMb.toFixed(2)} MB for ${ROWS.toLocaleString('en')} rows.`,
    '',
    `Targets: BullMQ CPU ≤ 1.15× inline — ${verdict(cpuOk)}; 2 workers ≥ 0.9× inline rows/s — ${verdict(rateOk)}; Redis peak ≤ 5 MB above idle and the same for 100k and 1M rows — ${verdict(memOk)}.`,
    '',
    `Outcomes — inline: ${outcomeText(inline.sums)}; 1 worker: ${outcomeText(one.sums)}; 2 workers: ${outcomeText(two.sums)}.`,
    '',
  );
  results.push(section.join('\n'));
}

const cpuSum = (r) => r.cpu.guiji + r.cpu.postgres + r.cpu.redis;

/** Several runs of one configuration as one: median wall and CPU, the highest Redis peak and event-loop block. */
function medianRun(rs) {
  if (rs.length === 1) return rs[0];
  return {
    ...rs.at(-1),
    wallMs: median(rs.map((r) => r.wallMs)),
    // The CPU of the run with the median total, so its parts still add up.
    cpu: [...rs].sort((a, b) => cpuSum(a) - cpuSum(b))[Math.floor((rs.length - 1) / 2)].cpu,
    redisAboveIdleMb: Math.max(...rs.map((r) => r.redisAboveIdleMb)),
    maxEventLoopDelayMs: Math.max(...rs.map((r) => r.maxEventLoopDelayMs ?? 0)),
    code: Math.max(...rs.map((r) => r.code)),
  };
}

/** Issue 4: the steward review bench (its own database of 100,000 rejected rows), as its own process. */
function partG() {
  const section = ['## g. Steward review (issue 4)', ''];
  if (!cliReady) {
    results.push([...section, cliMissing('g'), ''].join('\n'));
    return;
  }
  const args = ['bench/review.mjs', '--pg', PG];
  commands.push(`node ${args.join(' ')}`);
  log('g: node bench/review.mjs …');
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) {
    results.push(
      [...section, `bench/review.mjs failed (exit ${r.status}):`, '', '```', r.stderr.slice(-2000), '```', ''].join(
        '\n',
      ),
    );
    return;
  }
  // review.mjs prints its own markdown under a level-2 heading: keep its body under this part's heading.
  const body = r.stdout
    .split('\n')
    .filter((l) => !l.startsWith('## '))
    .join('\n')
    .trim();
  results.push(
    [
      ...section,
      'Figures from the review service as the API calls it (no HTTP in the timing); the workbook written by a child process through the same code as `GET …/rejections.xlsx`.',
      '',
      body,
      '',
    ].join('\n'),
  );
}

// ---- main ----
const machine = machineInfo(PG);
const started = new Date();
try {
  if (ONLY.has('a')) await partA();
  if (ONLY.has('b')) await partB();
  if (ONLY.has('c')) await partC();
  if (ONLY.has('d')) await partD();
  if (ONLY.has('e')) await partE();
  if (ONLY.has('f')) {
    // Part f compares three 1M-row runs with each other: drop the earlier parts' databases first, so that
    // PostgreSQL's background work on them (autovacuum, checkpoints) does not fall into one of the runs.
    if (!KEEP) for (const db of databases.splice(0)) dropDatabase(PG, db);
    settle();
    await partF();
  }
  if (ONLY.has('g')) partG();
} finally {
  if (!KEEP) for (const db of databases) dropDatabase(PG, db);
}

const md = [
  '# guiji benchmarks',
  '',
  `Written by \`bench/run.mjs\` (${started.toISOString()}, ${((Date.now() - started.getTime()) / 1000).toFixed(0)} s). Parts run: ${[...ONLY].join(', ')}; CSV ${ROWS.toLocaleString('en')} rows, small CSV ${SMALL_ROWS.toLocaleString('en')}, xlsx ${XLSX_ROWS.toLocaleString('en')}.`,
  'Each guiji figure is the real CLI run as a child process, next to a baseline measured in the same run; data generation is not timed, and every input is read once before its timed runs (warm page cache). Before each timed 1M-row run of parts a, b and f, a `CHECKPOINT` writes out what the run before it left dirty, so that no run pays for the writes of another.',
  '',
  '## Machine',
  '',
  `- CPU: ${machine.cpuModel}; nproc: ${machine.nproc}`,
  `- Memory (\`free -g\`):\n\n\`\`\`\n${machine.free}\n\`\`\`\n`,
  `- Node ${machine.node}; PostgreSQL server ${machine.postgres} (${machine.psql}) at ${PG}`,
  `- Peak RSS: ${rssMethod}`,
  '',
  ...results,
  '## Commands',
  '',
  '```sh',
  ...commands,
  '```',
  '',
].join('\n');
writeFileSync(RESULTS, md);
log(`wrote ${rel(RESULTS)}`);

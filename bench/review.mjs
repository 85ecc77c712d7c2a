#!/usr/bin/env node
// Steward review bench (issue 4, "Done when"): a batch of 100,000 rejected rows on PostgreSQL, made
// through the real ingest path (`guiji ingest` on a generated CSV where every row breaks one rule), then
//   (a) the annotated workbook of 10,000, 50,000 and 100,000 rejections: seconds and peak RSS of a child
//       process that writes only the workbook (flat memory: the peak stops growing with the rows);
//   (b) a page of rejections, first and last, without and with a rule filter: p95 over 50 runs;
//   (c) the facet counts: p95 over 50 runs.
// (b) and (c) are timed twice: the review service called directly, and the HTTP API as the steward page
// calls it (a real server on 127.0.0.1, a steward logged in once, fetch with keep-alive).
// Run after `npm run build` (it imports dist/). Creates and drops its own database guiji_bench_review.
//
//   node bench/review.mjs [--rows 100000] [--sizes 10000,50000,100000] [--runs 50] [--pg postgres://…:5432]
//                         [--dist DIR (default dist/)] [--keep (keep the database)]
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { COL, idCheck, makePenaltyGenerator, PENALTY_HEADERS, usccCheck } from '../scripts/penalty-rows.mjs';
import { dropDatabase, fmtMb, fmtS, freshDatabase, machineInfo, measure, psql, rssMethod } from './lib.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DB_NAME = 'guiji_bench_review';
const COUNTY = '230184';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const ROWS = Number(opt('rows', 100_000));
const SIZES = String(opt('sizes', '10000,50000,100000'))
  .split(',')
  .map(Number)
  .filter((n) => n > 0);
const RUNS = Number(opt('runs', 50));
const DIST = resolve(opt('dist', join(ROOT, 'dist')));
const KEEP = args.includes('--keep');
// DATABASE_URL names a database on the server; the bench makes its own next to it.
const PG = String(opt('pg', process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'))
  .replace(/\/[^/:@]*$/, '')
  .replace(/\/+$/, '');

if (!existsSync(join(DIST, 'review', 'workbook.js')) || !existsSync(join(DIST, 'cli', 'main.js'))) {
  console.error(`${DIST} has no build of the review code: run \`npm run build\` first.`);
  process.exit(2);
}
const load = (p) => import(pathToFileURL(join(DIST, p)).href);
const log = (s) => process.stderr.write(`${s}\n`);

// ---- data: every row breaks one of four rules ----

const RULES = ['USCC_CHECKSUM / ID_NUMBER_INVALID', 'REQUIRED_MISSING', 'DATE_INVALID', 'MONEY_UNPARSEABLE'];
const USCC_ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY';

function breakRow(r, i) {
  switch (i % 4) {
    case 0: {
      // A wrong check character (never the right one by chance): the USCC when there is one, else the ID.
      const col = r[COL.uscc] ? COL.uscc : COL.idNo;
      const first17 = r[col].slice(0, 17);
      const right = col === COL.uscc ? usccCheck(first17) : idCheck(first17);
      const alphabet = col === COL.uscc ? USCC_ALPHABET : '0123456789';
      r[col] = first17 + alphabet[(alphabet.indexOf(right) + 1 + (i % 7)) % alphabet.length];
      break;
    }
    case 1:
      r[COL.facts] = '';
      break;
    case 2:
      r[COL.decisionDate] = `${r[COL.decisionDate].slice(0, 4)}/13/0${1 + (i % 9)}`;
      break;
    default:
      r[COL.fine] = '待定';
  }
}

const quote = (s) => (/[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);

async function writeCsv(file, rows) {
  const out = createWriteStream(file);
  const gen = makePenaltyGenerator(7);
  let chunk = `${PENALTY_HEADERS.join(',')}\r\n`;
  for (let i = 0; i < rows; i++) {
    // A copy: the generator keeps recent rows to repeat their keys, and those must stay as it made them.
    const r = gen.next().slice();
    breakRow(r, i);
    chunk += `${r.map(quote).join(',')}\r\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
}

// ---- measuring ----

const p95 = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil(s.length * 0.95) - 1)];
};

async function timeRuns(fn) {
  for (let i = 0; i < 3; i++) await fn(); // warm-up: connections, plans, caches
  const ms = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  const sorted = [...ms].sort((a, b) => a - b);
  return { p95: p95(ms), median: sorted[Math.floor(sorted.length / 2)] };
}

// ---- run ----

const work = mkdtempSync(join(tmpdir(), 'guiji-bench-review-'));
const url = freshDatabase(PG, DB_NAME);
const rows = [];
let ctx;
let app;
try {
  const csv = join(work, 'penalty-rejected.csv');
  log(`generating ${ROWS} rows, each breaking one rule …`);
  await writeCsv(csv, ROWS);

  log('ingesting through `guiji ingest` …');
  const env = { ...process.env, DATABASE_URL: url, TZ: 'Asia/Shanghai', LOG_LEVEL: 'warn' };
  delete env.REDIS_URL; // the inline executor: no workers in this bench
  const ing = spawnSync('node', [join(DIST, 'cli', 'main.js'), 'ingest', csv, '--county', COUNTY, '--json'], {
    env,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  const line = ing.stdout.split('\n').find((l) => l.startsWith('{'));
  if (ing.status !== 0 || !line) throw new Error(`ingest failed (${ing.status}): ${ing.stderr}`);
  const summary = JSON.parse(line);
  log(`batch ${summary.batchId}: ${summary.total} rows, ${summary.rejected} rejected, ${fmtS(summary.durationMs)} s`);
  if (summary.rejected !== ROWS) throw new Error(`expected ${ROWS} rejected rows, got ${summary.rejected}`);
  // After a bulk load the planner needs statistics (autovacuum would gather them a little later).
  psql(url, 'ANALYZE rejections');
  const rules = psql(
    url,
    `SELECT string_agg(code || ' ' || n, ', ' ORDER BY n DESC) FROM
       (SELECT code, count(*) n FROM rejections, unnest(error_codes) code GROUP BY code) x`,
  ).trim();

  // (a) the annotated workbook, each size in a child process of its own
  for (const size of SIZES) {
    const out = join(work, `workbook-${size}.xlsx`);
    const child = join(ROOT, 'bench', 'review-workbook.mjs');
    const m = await measure('node', [child, DIST, url, summary.batchId, String(size), out], { tmpDir: work });
    const res = JSON.parse(m.stdout.trim().split('\n').at(-1) ?? '{}');
    if (m.code !== 0 || res.rows !== size) throw new Error(`workbook ${size} failed: ${m.stderr}`);
    rows.push({
      part: 'a',
      what: `annotated workbook, ${size.toLocaleString('en')} rejections`,
      figure: `${fmtS(res.ms)} s`,
      detail: `peak RSS ${fmtMb(m.peakRssMb)} MB (${fmtMb(res.rssBeforeMb)} MB before writing, +${fmtMb(m.peakRssMb - res.rssBeforeMb)} MB); file ${res.fileMb.toFixed(1)} MB`,
      target: '≤ 10 s (10,000), flat memory',
    });
    rmSync(out, { force: true });
  }

  // (b), (c): H-core's review service, as the API calls it, and then the API itself, as the page calls it
  const [{ loadConfig }, { makeContext }, { engineDeps }, review, { buildServer }, { addUser }] = await Promise.all([
    load('src/config.js'),
    load('src/context.js'),
    load('cli/context.js'),
    load('review/rejections.js'),
    load('web/server.js'),
    load('review/users.js'),
  ]);
  ctx = await makeContext(loadConfig({ ...env, GUIJI_HOME: work }, { cwd: work }));
  const deps = engineDeps(ctx);
  const steward = { id: 0, username: 'bench', displayName: null, role: 'steward', county: null, disabled: false };

  // The server as `guiji serve` builds it (uploads under the bench's own folder), on a random local port.
  // A real steward logs in once through POST /api/login, as on the page: every timed request then pays what
  // the page's does (session lookup, query-string schema, JSON out and in), and nothing for the login.
  const uploadDir = join(work, 'uploads');
  mkdirSync(uploadDir, { recursive: true });
  app = buildServer({ ctx, uploadLimitBytes: 50 * 1024 * 1024, uploadDir });
  const base = (await app.listen({ host: '127.0.0.1', port: 0 })).replace(/\/$/, '');
  const password = 'bench-steward-password';
  await addUser(ctx.db.knex, { username: 'bench-steward', password, role: 'steward' }, 'bench');
  const loginRes = await fetch(`${base}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'bench-steward', password }),
  });
  const session = loginRes.headers.getSetCookie().find((c) => c.startsWith('guiji_session='));
  await loginRes.arrayBuffer(); // read to the end, so the connection goes back to the pool for the next request
  if (loginRes.status !== 200 || !session) throw new Error(`login failed (${loginRes.status})`);
  const cookie = session.split(';')[0];
  // The page's query string (web/public/api.js `query`): its filters in its order, empty ones left out, and
  // status=open always (its default filter). Node's fetch keeps the connection alive between requests.
  const apiGet = async (path, f) => {
    const q = { batch: f.batch, status: 'open', rule: f.rule, limit: f.limit, offset: f.offset };
    const qs = new URLSearchParams(Object.entries(q).filter(([, v]) => v !== undefined && v !== ''));
    const res = await fetch(`${base}${path}?${qs}`, { headers: { cookie } });
    const body = await res.json();
    if (res.status !== 200) throw new Error(`GET ${path}?${qs} → ${res.status} ${JSON.stringify(body)}`);
    return body;
  };

  const batch = summary.batchId;
  const rule = 'DATE_INVALID';
  const totalAll = (await review.listRejectionViews(deps, steward, { batch, limit: 50 })).total;
  const totalRule = (await review.listRejectionViews(deps, steward, { batch, rule, limit: 50 })).total;
  // The API must see the same rows as the service: else its figures would time another query.
  for (const [f, total] of [
    [{ batch, limit: 50, offset: 0 }, totalAll],
    [{ batch, rule, limit: 50, offset: 0 }, totalRule],
  ]) {
    const got = (await apiGet('/api/rejections', f)).total;
    if (got !== total) throw new Error(`API total ${got} ≠ service total ${total} for ${JSON.stringify(f)}`);
  }
  const lastOffset = (n) => Math.max(0, Math.floor((n - 1) / 50) * 50);
  const pages = [
    ['first page', { batch, limit: 50, offset: 0 }],
    ['last page', { batch, limit: 50, offset: lastOffset(totalAll) }],
    [`first page, rule ${rule}`, { batch, rule, limit: 50, offset: 0 }],
    [
      `last page, rule ${rule} (${totalRule.toLocaleString('en')} rows)`,
      { batch, rule, limit: 50, offset: lastOffset(totalRule) },
    ],
  ];
  const row = (part, what, t, target) =>
    rows.push({ part, what, figure: `${t.p95.toFixed(1)} ms`, detail: `median ${t.median.toFixed(1)} ms`, target });
  // Each figure twice, side by side: the service alone, then through HTTP (the difference is the web layer).
  for (const [label, f] of pages) {
    const t = await timeRuns(async () => {
      const page = await review.listRejectionViews(deps, steward, f);
      if (page.items.length === 0) throw new Error(`empty page: ${label}`);
    });
    row('b', `rejections ${label}`, t, 'p95 ≤ 100 ms');
    const h = await timeRuns(async () => {
      const page = await apiGet('/api/rejections', f);
      if (page.items.length === 0) throw new Error(`empty page over HTTP: ${label}`);
    });
    row('b', `HTTP GET /api/rejections, ${label}`, h, 'p95 ≤ 100 ms');
  }
  for (const [label, f] of [
    ['facets of the batch', { batch }],
    [`facets, rule ${rule}`, { batch, rule }],
  ]) {
    row('c', label, await timeRuns(() => review.rejectionFacets(deps, steward, f)), 'p95 ≤ 300 ms');
    row(
      'c',
      `HTTP GET /api/rejections/facets, ${label}`,
      await timeRuns(() => apiGet('/api/rejections/facets', f)),
      'p95 ≤ 300 ms',
    );
  }

  const m = machineInfo(PG);
  console.log(`## Steward review bench (${new Date().toISOString().slice(0, 10)})\n`);
  console.log(
    `${ROWS.toLocaleString('en')} rejected rows in one batch (PostgreSQL ${m.postgres}), made by \`guiji ingest\` in ${fmtS(summary.durationMs)} s; rules: ${rules}.`,
  );
  console.log(
    `Machine: ${m.cpuModel}, ${m.nproc} cores, ${m.memGb}; Node ${m.node}. RSS: ${rssMethod}. p95 over ${RUNS} runs after 3 warm-ups.\n`,
  );
  console.log('| part | what | figure | detail | target |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.part} | ${r.what} | ${r.figure} | ${r.detail} | ${r.target} |`);
  console.log(`\nPlanted rules, in turn: ${RULES.join(', ')}.`);
} finally {
  // The server first (it closes its idle keep-alive connections), then the context it reads through.
  await app?.close().catch(() => {});
  await ctx?.release().catch(() => {});
  if (!KEEP) dropDatabase(PG, DB_NAME);
  rmSync(work, { recursive: true, force: true });
}

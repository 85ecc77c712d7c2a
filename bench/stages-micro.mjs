// Micro-benchmark of the row stages (clean → normalize → validate → key) and the COPY encoder, in
// one thread, on already-read records (reading is not timed). Run after `npm run build`:
//
//   node scripts/gen-penalty-csv.mjs 100000 /tmp/perf/p100k.csv
//   node bench/stages-micro.mjs [/tmp/perf/p100k.csv] [rows=100000] [runs=3] [--sliced]
//
// Prints µs/row per stage (wall and process CPU time, and the GC pauses that fell within the stage; best of the
// runs each) and a digest of everything the stages produce (encoded COPY text, keys, hashes, issues), so a change
// can be checked for identical behaviour.
import { createHash } from 'node:crypto';
import { PerformanceObserver } from 'node:perf_hooks';
import { openSource } from '../dist/connectors/open-source.js';
import { toRows } from '../dist/pipelines/chunk-runner.js';
import { makeCleaner } from '../dist/pipelines/clean.js';
import { makeKeyer } from '../dist/pipelines/key.js';
import { makeNormalizer } from '../dist/pipelines/normalize.js';
import { makePipeline } from '../dist/pipelines/stages.js';
import { makeValidator } from '../dist/pipelines/validate.js';
import { loadCatalogs } from '../dist/src/catalog/load.js';
import { hasError } from '../dist/src/pipeline.js';
import { loadReference } from '../dist/src/reference.js';
import { encodeStaging } from '../dist/src/warehouse/copy-text.js';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const file = args[0] ?? '/tmp/perf/p100k.csv';
const limit = Number(args[1] ?? 100_000);
const runs = Number(args[2] ?? 3);
const CHUNK = 5000;

const catalogs = loadCatalogs();
const reference = loadReference();

// ---- read (not timed) ----
let sheet;
const records = [];
for await (const ev of openSource(file, catalogs.list, {})) {
  if (ev.kind !== 'sheet') continue;
  sheet = ev.sheet;
  for await (const chunk of ev.sheet.records) {
    for (const r of chunk) {
      if (records.length < limit) records.push(r);
    }
  }
  break;
}
if (!sheet) throw new Error(`no matched sheet in ${file}`);
// As a worker thread gets them: a chunk's records cross the thread boundary by structured clone, which
// makes every cell a flat string. Without `--sliced`, the stages see that; with it, they see the reader's
// own cells (substrings of the decoded text, as the inline runner of small files does).
const sliced = process.argv.includes('--sliced');
const chunks = [];
for (let i = 0; i < records.length; i += CHUNK) {
  const chunk = records.slice(i, i + CHUNK);
  chunks.push(sliced ? chunk : structuredClone(chunk));
}

const ctx = {
  catalog: sheet.catalog,
  county: '230184',
  today: '2026-11-27',
  headers: sheet.headers,
  columns: sheet.columns,
  defaults: {},
  reference,
};
const prov = { batchId: '00000000-0000-0000-0000-000000000001', file: 'p100k.csv' };
const batch = { id: prov.batchId, county: ctx.county, file: prov.file, sheet: null };

const STAGES = ['clean', 'normalize', 'validate', 'key', 'encode'];

// Process CPU time (µs, all threads: GC helpers count) as well as wall time: on a shared machine the
// wall clock also counts the time other processes had the core.
function cpuNow() {
  const u = process.cpuUsage();
  return u.user + u.system;
}

// GC pauses, to tell a stage's own work from the collections it happens to run into: a stage that
// allocates little still pays for the young generation the others filled.
const gcPauses = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcPauses.push(e);
}).observe({ entryTypes: ['gc'] });

/** ms of GC pause per stage, from the pauses that started within its spans (entries arrive after a run). */
async function gcByStage(spans) {
  await new Promise((resolve) => setTimeout(resolve, 20));
  const gc = Object.fromEntries(STAGES.map((s) => [s, 0]));
  for (const e of gcPauses.splice(0)) {
    const span = spans.find(([, t0, t1]) => e.startTime >= t0 && e.startTime < t1);
    if (span) gc[span[0]] += e.duration;
  }
  return gc;
}

function runOnce() {
  // A fresh plan per run, as a worker plans per batch. The stages are the ones makePipeline chains,
  // called one by one here so that each gets its CPU time.
  const stages = [
    ['clean', makeCleaner(ctx)],
    ['normalize', makeNormalizer(ctx)],
    ['validate', makeValidator(ctx)],
    ['key', makeKeyer(ctx)],
  ];
  const wall = Object.fromEntries(STAGES.map((s) => [s, 0]));
  const cpu = Object.fromEntries(STAGES.map((s) => [s, 0]));
  const digest = createHash('sha1');
  const spans = [];
  let valid = 0;
  let rejected = 0;
  for (const recs of chunks) {
    let rows = toRows(recs, prov); // not timed: part of the reader → worker hand-off
    for (const [name, run] of stages) {
      const c0 = cpuNow();
      const t0 = performance.now();
      rows = run(rows).rows;
      const t1 = performance.now();
      wall[name] += t1 - t0;
      spans.push([name, t0, t1]);
      cpu[name] += (cpuNow() - c0) / 1000;
    }
    const ok = [];
    for (const row of rows) {
      if (hasError(row)) rejected++;
      else ok.push(row);
    }
    const c0 = cpuNow();
    const t0 = performance.now();
    const staged = encodeStaging(ctx.catalog, batch, ok);
    const t1 = performance.now();
    wall.encode += t1 - t0;
    spans.push(['encode', t0, t1]);
    cpu.encode += (cpuNow() - c0) / 1000;
    valid += ok.length;
    digest.update(staged.data);
    for (const row of rows) if (row.issues.length > 0) digest.update(JSON.stringify(row.issues));
  }
  return { wall, cpu, spans, valid, rejected, digest: digest.digest('hex') };
}

// The chained pipeline itself, once, to check it gives what the stages one by one give.
function pipelineDigest() {
  const pipeline = makePipeline(ctx);
  const digest = createHash('sha1');
  for (const recs of chunks) {
    const r = pipeline(toRows(recs, prov));
    const ok = r.rows.filter((row) => !hasError(row));
    digest.update(encodeStaging(ctx.catalog, batch, ok).data);
    for (const row of r.rows) if (row.issues.length > 0) digest.update(JSON.stringify(row.issues));
  }
  return digest.digest('hex');
}

const bestWall = Object.fromEntries(STAGES.map((s) => [s, Number.POSITIVE_INFINITY]));
const bestCpu = Object.fromEntries(STAGES.map((s) => [s, Number.POSITIVE_INFINITY]));
const bestGc = Object.fromEntries(STAGES.map((s) => [s, Number.POSITIVE_INFINITY]));
let last;
for (let i = 0; i < runs; i++) {
  last = runOnce();
  const gc = await gcByStage(last.spans);
  for (const s of STAGES) {
    bestWall[s] = Math.min(bestWall[s], last.wall[s]);
    bestCpu[s] = Math.min(bestCpu[s], last.cpu[s]);
    bestGc[s] = Math.min(bestGc[s], gc[s]);
  }
}
const n = records.length;
const us = (ms) => ((ms * 1000) / n).toFixed(2).padStart(8);
console.log(
  `${file}: ${n} rows, ${chunks.length} chunks of ${CHUNK}, ${sliced ? 'cells as read' : 'cells cloned as for a worker'}; best of ${runs}; µs/row`,
);
console.log(`${'stage'.padEnd(10)} ${'wall'.padStart(8)} ${'cpu'.padStart(8)} ${'gc pause'.padStart(8)}`);
let totalWall = 0;
let totalCpu = 0;
let totalGc = 0;
for (const s of STAGES) {
  totalWall += bestWall[s];
  totalCpu += bestCpu[s];
  totalGc += bestGc[s];
  console.log(`${s.padEnd(10)} ${us(bestWall[s])} ${us(bestCpu[s])} ${us(bestGc[s])}`);
}
console.log(
  `${'total'.padEnd(10)} ${us(totalWall)} ${us(totalCpu)} ${us(totalGc)}  (${Math.round(n / (totalWall / 1000))} rows/s on one core, wall)`,
);
const piped = pipelineDigest();
if (piped !== last.digest) console.log(`makePipeline digest ${piped} differs from the stages one by one!`);
console.log(`valid ${last.valid}, rejected ${last.rejected}, digest ${last.digest}`);

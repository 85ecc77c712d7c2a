// Micro-benchmark of the row stages (clean → normalize → validate → key) and the COPY encoder, in
// one thread, on already-read records (reading is not timed). Run after `npm run build`:
//
//   node scripts/gen-penalty-csv.mjs 100000 /tmp/perf/p100k.csv
//   node bench/stages-micro.mjs [/tmp/perf/p100k.csv] [rows=100000] [runs=3]
//
// Prints µs/row per stage, wall and process CPU time (best of the runs each) and a digest of everything the stages produce
// (encoded COPY text, keys, hashes, issues), so a change can be checked for identical behaviour.
import { createHash } from 'node:crypto';
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

const file = process.argv[2] ?? '/tmp/perf/p100k.csv';
const limit = Number(process.argv[3] ?? 100_000);
const runs = Number(process.argv[4] ?? 3);
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
const chunks = [];
for (let i = 0; i < records.length; i += CHUNK) chunks.push(records.slice(i, i + CHUNK));

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
  let valid = 0;
  let rejected = 0;
  for (const recs of chunks) {
    let rows = toRows(recs, prov); // not timed: part of the reader → worker hand-off
    for (const [name, run] of stages) {
      const c0 = cpuNow();
      const t0 = performance.now();
      rows = run(rows).rows;
      wall[name] += performance.now() - t0;
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
    wall.encode += performance.now() - t0;
    cpu.encode += (cpuNow() - c0) / 1000;
    valid += ok.length;
    digest.update(staged.text);
    for (const row of rows) if (row.issues.length > 0) digest.update(JSON.stringify(row.issues));
  }
  return { wall, cpu, valid, rejected, digest: digest.digest('hex') };
}

// The chained pipeline itself, once, to check it gives what the stages one by one give.
function pipelineDigest() {
  const pipeline = makePipeline(ctx);
  const digest = createHash('sha1');
  for (const recs of chunks) {
    const r = pipeline(toRows(recs, prov));
    const ok = r.rows.filter((row) => !hasError(row));
    digest.update(encodeStaging(ctx.catalog, batch, ok).text);
    for (const row of r.rows) if (row.issues.length > 0) digest.update(JSON.stringify(row.issues));
  }
  return digest.digest('hex');
}

const bestWall = Object.fromEntries(STAGES.map((s) => [s, Number.POSITIVE_INFINITY]));
const bestCpu = Object.fromEntries(STAGES.map((s) => [s, Number.POSITIVE_INFINITY]));
let last;
for (let i = 0; i < runs; i++) {
  last = runOnce();
  for (const s of STAGES) {
    bestWall[s] = Math.min(bestWall[s], last.wall[s]);
    bestCpu[s] = Math.min(bestCpu[s], last.cpu[s]);
  }
}
const n = records.length;
const us = (ms) => ((ms * 1000) / n).toFixed(2).padStart(8);
console.log(`${file}: ${n} rows, ${chunks.length} chunks of ${CHUNK}; best of ${runs}; µs/row`);
console.log(`${'stage'.padEnd(10)} ${'wall'.padStart(8)} ${'cpu'.padStart(8)}`);
let totalWall = 0;
let totalCpu = 0;
for (const s of STAGES) {
  totalWall += bestWall[s];
  totalCpu += bestCpu[s];
  console.log(`${s.padEnd(10)} ${us(bestWall[s])} ${us(bestCpu[s])}`);
}
console.log(
  `${'total'.padEnd(10)} ${us(totalWall)} ${us(totalCpu)}  (${Math.round(n / (totalWall / 1000))} rows/s on one core, wall)`,
);
const piped = pipelineDigest();
if (piped !== last.digest) console.log(`makePipeline digest ${piped} differs from the stages one by one!`);
console.log(`valid ${last.valid}, rejected ${last.rejected}, digest ${last.digest}`);

#!/usr/bin/env node
// Child of bench/review.mjs: writes one annotated workbook and prints what it took as one JSON line.
// Run as its own process so its peak RSS is the workbook's alone (measured by the parent).
//   node bench/review-workbook.mjs <dist dir> <database url> <batch id> <limit> <out.xlsx>
import { createWriteStream, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [dist, url, batchId, limit, out] = process.argv.slice(2);
const load = (p) => import(pathToFileURL(join(dist, p)).href);
const [{ openWarehouse }, { loadCatalogs }, { writeAnnotatedWorkbook }] = await Promise.all([
  load('src/warehouse/open.js'),
  load('src/catalog/load.js'),
  load('review/workbook.js'),
]);

const wh = await openWarehouse({ databaseUrl: url, home: '/nonexistent', poolMax: 2 });
const catalogs = loadCatalogs();
// Everything loaded and connected: what the process holds before the workbook starts.
await wh.knex.raw('select 1');
const rssBefore = process.memoryUsage().rss;
const started = performance.now();
const { rows } = await writeAnnotatedWorkbook(
  { db: wh, catalogs },
  { batchId, limit: Number(limit) },
  { county: null },
  createWriteStream(out),
);
const ms = performance.now() - started;
await wh.close();
process.stdout.write(
  `${JSON.stringify({ rows, ms, rssBeforeMb: rssBefore / 2 ** 20, fileMb: statSync(out).size / 2 ** 20 })}\n`,
);

#!/usr/bin/env node
// Generate a large, deterministic 行政处罚 CSV in the national template's header.
// Usage: node scripts/gen-penalty-csv.mjs <rows> <out.csv> [--seed N] [--encoding utf8|gb18030]
// Streams in chunks with back-pressure, so memory stays flat whatever the row count.
import { once } from 'node:events';
import { createWriteStream, writeFileSync } from 'node:fs';
import iconv from 'iconv-lite';
import { COL, makePenaltyGenerator, PENALTY_HEADERS, parseArgs } from './penalty-rows.mjs';

const USAGE = 'usage: node scripts/gen-penalty-csv.mjs <rows> <out.csv> [--seed N] [--encoding utf8|gb18030]';
const { rows, out, opts } = parseArgs(process.argv.slice(2), USAGE);
const seed = Number(opts.seed ?? 1);
const encoding = (opts.encoding ?? 'utf8').toLowerCase().replace('-', '');
if (encoding !== 'utf8' && encoding !== 'gb18030') {
  console.error(USAGE);
  process.exit(2);
}

// Only these columns can hold a quote or comma (the generator plants them there).
const QUOTABLE = new Set([COL.facts, COL.remarks]);
const quote = (s) => (s.includes('"') || s.includes(',') ? `"${s.replaceAll('"', '""')}"` : s);

function formatRow(r) {
  let line = '';
  for (let i = 0; i < r.length; i++) {
    if (i > 0) line += ',';
    line += QUOTABLE.has(i) ? quote(r[i]) : r[i];
  }
  return `${line}\r\n`;
}

const encode = encoding === 'gb18030' ? (s) => iconv.encode(s, 'gb18030') : (s) => Buffer.from(s, 'utf8');
const stream = createWriteStream(out);
const gen = makePenaltyGenerator(seed);
const started = performance.now();

let chunk = `${PENALTY_HEADERS.join(',')}\r\n`;
for (let i = 0; i < rows; i++) {
  chunk += formatRow(gen.next());
  if (chunk.length > 1 << 20) {
    if (!stream.write(encode(chunk))) await once(stream, 'drain');
    chunk = '';
  }
}
stream.end(encode(chunk));
await once(stream, 'finish');
const s = gen.stats;
// What the file should give (the benchmark checks the outcomes against it): one rejection per defect.
writeFileSync(`${out}.stats.json`, `${JSON.stringify(s)}\n`);
console.error(
  `${out}: ${s.rows} rows (${s.defects} with a defect, ${s.duplicates} repeated keys), ${encoding}, ${((performance.now() - started) / 1000).toFixed(1)} s`,
);

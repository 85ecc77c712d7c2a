#!/usr/bin/env node
// Turns the reference CSVs (../shared/reference/data, domain.md §4–§5) into the JSON files the
// engine reads from schemas/reference/. Re-run after the CSVs change:
//   node scripts/import-reference.mjs [--from DIR] [--to DIR]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] ? resolve(process.argv[i + 1]) : fallback;
};
const from = arg('--from', resolve(root, '../shared/reference/data'));
const to = arg('--to', join(root, 'schemas/reference'));

const read = (file) =>
  parse(readFileSync(join(from, file), 'utf8'), { columns: true, skip_empty_lines: true, trim: true });
const fail = (msg) => {
  console.error(`import-reference: ${msg}`);
  process.exit(1);
};
const CODE = /^\d{6}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const year = (s, what) => {
  if (s === '') return null;
  if (!/^\d{4}$/.test(s)) fail(`${what}: bad year "${s}"`);
  return Number(s);
};

// code → { name, level, parent }
const divisions = {};
for (const r of read('heilongjiang_divisions.csv')) {
  if (!CODE.test(r.code)) fail(`heilongjiang_divisions.csv: bad code "${r.code}"`);
  if (!['province', 'prefecture', 'county'].includes(r.level)) fail(`${r.code}: bad level "${r.level}"`);
  if (divisions[r.code]) fail(`heilongjiang_divisions.csv: duplicate code ${r.code}`);
  divisions[r.code] = { name: r.name, level: r.level, parent: r.parent_code || null };
}
for (const [code, d] of Object.entries(divisions)) {
  if (d.parent !== null && !divisions[d.parent]) fail(`${code}: parent ${d.parent} is not in the file`);
}

// code → [{ name, from, to }] (one code can have had several names; null = open end)
const historical = {};
for (const r of read('heilongjiang_divisions_historical.csv')) {
  if (!CODE.test(r.code)) fail(`heilongjiang_divisions_historical.csv: bad code "${r.code}"`);
  const entry = { name: r.name, from: year(r.valid_from_year, r.code), to: year(r.valid_to_year, r.code) };
  if (!historical[r.code]) historical[r.code] = [];
  historical[r.code].push(entry);
}

// date → { off, name }: off=true a statutory day off, off=false a make-up working day (调休)
const holidays = {};
for (const r of read('cn_holidays.csv')) {
  if (!DATE.test(r.date)) fail(`cn_holidays.csv: bad date "${r.date}"`);
  if (r.is_off_day !== 'true' && r.is_off_day !== 'false') fail(`${r.date}: bad is_off_day "${r.is_off_day}"`);
  if (holidays[r.date]) fail(`cn_holidays.csv: duplicate date ${r.date}`);
  holidays[r.date] = { off: r.is_off_day === 'true', name: r.name };
}
const sortKeys = (o) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

mkdirSync(to, { recursive: true });
const write = (file, data) => {
  const lines = Object.entries(sortKeys(data)).map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)}`);
  writeFileSync(join(to, file), `{\n${lines.join(',\n')}\n}\n`);
  console.error(`import-reference: wrote ${join(to, file)} (${lines.length} entries)`);
};
write('divisions.json', divisions);
write('divisions-historical.json', historical);
write('holidays.json', holidays);

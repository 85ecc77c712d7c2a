#!/usr/bin/env node
// Generate a deterministic 行政处罚 .xlsx with the same content as gen-penalty-csv.mjs, through
// exceljs's streaming WorkbookWriter (memory stays flat). Cells are typed as a clerk's Excel
// holds them: dates as date cells (yyyy/mm/dd), money as numbers, codes as text; a planted bad
// date stays the text the clerk typed.
// Usage: node scripts/gen-penalty-xlsx.mjs <rows> <out.xlsx> [--seed N] [--sheet NAME]
import { writeFileSync } from 'node:fs';
import ExcelJS from 'exceljs';
import { CODE_COLS, DATE_COLS, MONEY_COLS, makePenaltyGenerator, PENALTY_HEADERS, parseArgs } from './penalty-rows.mjs';

const USAGE = 'usage: node scripts/gen-penalty-xlsx.mjs <rows> <out.xlsx> [--seed N] [--sheet NAME]';
const { rows, out, opts } = parseArgs(process.argv.slice(2), USAGE);
const seed = Number(opts.seed ?? 1);
const started = performance.now();

const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: out, useSharedStrings: true, useStyles: true });
const sheet = workbook.addWorksheet(opts.sheet ?? '行政处罚');
sheet.columns = PENALTY_HEADERS.map((header, i) => ({
  header,
  width: CODE_COLS.includes(i) || DATE_COLS.includes(i) ? 20 : 16,
  style: CODE_COLS.includes(i) ? { numFmt: '@' } : DATE_COLS.includes(i) ? { numFmt: 'yyyy/mm/dd' } : {},
}));

const isDate = new Array(30).fill(false);
for (const i of DATE_COLS) isDate[i] = true;
const isMoney = new Array(30).fill(false);
for (const i of MONEY_COLS) isMoney[i] = true;
const DATE_RE = /^(\d{4})\/(\d{2})\/(\d{2})$/;

/** String → the cell value Excel would hold (null for empty). */
function toCell(s, i) {
  if (s === '') return null;
  if (isMoney[i]) return Number(s);
  if (isDate[i]) {
    const m = DATE_RE.exec(s);
    if (m && Number(m[2]) <= 12) return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  }
  return s;
}

const gen = makePenaltyGenerator(seed);
for (let n = 0; n < rows; n++) {
  const r = gen.next();
  const values = new Array(30);
  for (let i = 0; i < 30; i++) values[i] = toCell(r[i], i);
  sheet.addRow(values).commit();
}
sheet.commit();
await workbook.commit();
const s = gen.stats;
// What the file should give (the benchmark checks the outcomes against it): one rejection per defect.
writeFileSync(`${out}.stats.json`, `${JSON.stringify(s)}\n`);
console.error(
  `${out}: ${s.rows} rows (${s.defects} with a defect, ${s.duplicates} repeated keys), ${((performance.now() - started) / 1000).toFixed(1)} s`,
);

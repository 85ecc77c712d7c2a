#!/usr/bin/env node
// Baseline for the .xlsx benchmark: a bare exceljs streaming read of a workbook, touching every
// cell of every row, with shared strings and styles cached (so dates come back as dates, as the
// reader needs them). Prints one JSON line: rows, cells, ms.
// Usage: node bench/bare-xlsx-read.mjs <file.xlsx>
import ExcelJS from 'exceljs';

const file = process.argv[2];
if (!file) {
  console.error('usage: node bench/bare-xlsx-read.mjs <file.xlsx>');
  process.exit(2);
}
const started = performance.now();
const reader = new ExcelJS.stream.xlsx.WorkbookReader(file, {
  sharedStrings: 'cache',
  styles: 'cache',
  hyperlinks: 'ignore',
  worksheets: 'emit',
  entries: 'emit',
});
let rows = 0;
let cells = 0;
let nonEmpty = 0;
for await (const sheet of reader) {
  for await (const row of sheet) {
    rows++;
    const values = row.values;
    for (let i = 1; i < values.length; i++) {
      cells++;
      if (values[i] !== undefined && values[i] !== null) nonEmpty++;
    }
  }
}
console.log(JSON.stringify({ rows, cells, nonEmpty, ms: Math.round(performance.now() - started) }));

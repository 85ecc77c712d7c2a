import { createRequire } from 'node:module';
import { basename } from 'node:path';
import type ExcelJS from 'exceljs';
import type { Catalog } from '../../src/catalog/types.js';
import { inputError, internalError, isGuijiError } from '../../src/errors.js';
import type { MatchedSheet, RawRecord, ReadOptions, SheetEvent, SkippedSheet } from '../../src/source.js';
import type { CellValue } from '../../src/types.js';
import { candidateCatalogs, describeExpectedHeaders, findHeader, HEADER_SCAN_ROWS } from '../header.js';
import { RESAVE_AS_XLSX_ZH } from '../sniff.js';
import { readThroughDirectory } from './zip-directory-parse.js';

type WorkbookReaderClass = typeof ExcelJS.stream.xlsx.WorkbookReader;

/**
 * Only exceljs's streaming reader: the package's entry point also loads its writers and CSV support,
 * which doubles the start-up time a clerk waits for on a small workbook. Falls back to the entry point
 * should the internal path ever move.
 */
function loadWorkbookReader(): WorkbookReaderClass {
  const require = createRequire(import.meta.url);
  try {
    return require('exceljs/lib/stream/xlsx/workbook-reader.js') as WorkbookReaderClass;
  } catch {
    return (require('exceljs') as typeof ExcelJS).stream.xlsx.WorkbookReader;
  }
}
const WorkbookReader = loadWorkbookReader();

/**
 * Rows per chunk handed on. A chunk's rows are alive together until its COPY text is made (cloned to a stage
 * thread for large workbooks): 100k-row workbook, 1,000 rather than 5,000 took the peak from 386–393 MB to
 * 319–325 MB at the same speed (bench/CHOICES.md).
 */
const DEFAULT_CHUNK = 1000;

/** The part of exceljs's streaming Row we use (its `values` are 1-based and sparse). */
interface StreamRow {
  number: number;
  values: unknown[] | Record<string, unknown>;
}
type RowIterator = AsyncIterator<StreamRow>;

/**
 * One cell as the pipeline wants it: rich text → plain text, formula → its cached result,
 * hyperlink → its text, error → the error text (`#N/A`); dates (date-formatted cells, styles
 * cached), numbers, booleans and strings as they are.
 */
export function toCellValue(v: unknown): CellValue {
  if (v === null || v === undefined) return null;
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      return Number.isFinite(v) ? v : null;
    case 'object':
      break;
    default:
      return String(v);
  }
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v;
  const o = v as Record<string, unknown>;
  if (Array.isArray(o.richText)) {
    let s = '';
    for (const run of o.richText as Array<{ text?: unknown }>) if (typeof run.text === 'string') s += run.text;
    return s;
  }
  if ('formula' in o || 'sharedFormula' in o) return toCellValue(o.result);
  if ('error' in o) return String(o.error);
  if ('text' in o) return toCellValue(o.text);
  return null;
}

/** Row cells, 0-based (column A = 0). */
function rowCells(row: StreamRow): CellValue[] {
  const vals = row.values as unknown[];
  const n = vals.length;
  const cells: CellValue[] = new Array(n > 0 ? n - 1 : 0);
  for (let c = 1; c < n; c++) cells[c - 1] = toCellValue(vals[c]);
  return cells;
}

function isEmptyRow(cells: readonly CellValue[]): boolean {
  for (let i = 0; i < cells.length; i++) {
    const c = cells[i];
    if (c === null || c === undefined) continue;
    if (typeof c !== 'string' || c.trim() !== '') return false;
  }
  return true;
}

async function drain(it: RowIterator): Promise<number> {
  let nonEmpty = 0;
  for (let r = await it.next(); !r.done; r = await it.next()) if (!isEmptyRow(rowCells(r.value))) nonEmpty++;
  return nonEmpty;
}

function unreadable(file: string, cause: unknown) {
  return inputError(
    'FILE_UNREADABLE',
    `文件“${file}”不是有效的 .xlsx 工作簿（可能已损坏，或是改了扩展名的其他文件），无法读取。${RESAVE_AS_XLSX_ZH}`,
    `Cannot read ${file} as an .xlsx workbook: ${(cause as Error)?.message ?? String(cause)}`,
    { file },
  );
}

/**
 * exceljs's streaming reader as this reader uses it: shared strings and styles cached (dates come as Date),
 * fed from the zip's central directory (zip-directory-parse.ts).
 */
export function openWorkbookReader(path: string): InstanceType<WorkbookReaderClass> {
  const reader = new WorkbookReader(path, {
    worksheets: 'emit',
    sharedStrings: 'cache',
    styles: 'cache',
    hyperlinks: 'ignore',
    entries: 'ignore',
  });
  readThroughDirectory(reader, path);
  return reader;
}

/**
 * Reads an .xlsx workbook with exceljs's streaming reader (shared strings and styles cached, so
 * date-formatted cells come as Date) and yields, per worksheet in file order, either the matched
 * sheet or the reason it was skipped (NO_HEADER, SHEET_EMPTY).
 *
 * The stream is read once, front to back: a consumer MUST finish (or abandon) sheet N's
 * `records` before asking for the next event. Asking for the next event drains whatever is left
 * of sheet N, and iterating sheet N's records after that is an internal error.
 *
 * Skipped sheets are held back until a sheet matches, so a workbook in which no sheet matches
 * throws NO_HEADER (exit code 2) without yielding anything; `opts.sheet` naming no sheet throws
 * SHEET_NOT_FOUND listing the sheet names.
 */
export async function* readXlsx(
  path: string,
  catalogs: readonly Catalog[],
  opts: ReadOptions = {},
): AsyncGenerator<SheetEvent> {
  const file = opts.displayName ?? basename(path);
  const candidates = candidateCatalogs(catalogs, opts.catalogId);
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK;
  const scan = Math.max(HEADER_SCAN_ROWS, opts.headerRow ?? 0);
  const wanted = opts.sheet?.trim();
  const reader = openWorkbookReader(path);
  const names: string[] = [];
  const held: SkippedSheet[] = [];
  let matched = 0;
  const sheets = reader[Symbol.asyncIterator]();
  try {
    for (;;) {
      let next: IteratorResult<ExcelJS.stream.xlsx.WorksheetReader>;
      try {
        next = await sheets.next();
      } catch (e) {
        throw isGuijiError(e) ? e : unreadable(file, e);
      }
      if (next.done) break;
      const ws = next.value;
      const name = String((ws as unknown as { name?: string }).name ?? '');
      names.push(name);
      const rows = ws[Symbol.asyncIterator]() as unknown as RowIterator;
      if (wanted !== undefined && name.trim() !== wanted) {
        await drain(rows);
        continue;
      }
      // The first rows (rows[i] is Excel row i + 1) and the first row below them, if any.
      const head: CellValue[][] = [];
      let overflow: { number: number; cells: CellValue[] } | undefined;
      for (let r = await rows.next(); !r.done; r = await rows.next()) {
        const cells = rowCells(r.value);
        if (r.value.number > scan) {
          overflow = { number: r.value.number, cells };
          break;
        }
        head[r.value.number - 1] = cells;
      }
      for (let i = 0; i < head.length; i++) head[i] ??= [];
      const found = findHeader(head, candidates, opts.headerRow !== undefined ? { headerRow: opts.headerRow } : {});
      if (!found) {
        const nonEmpty =
          head.filter((c) => !isEmptyRow(c)).length +
          (overflow && !isEmptyRow(overflow.cells) ? 1 : 0) +
          (overflow ? await drain(rows) : 0);
        held.push(nonEmpty === 0 ? emptySheet(file, name) : noHeader(file, name, candidates, opts.headerRow));
        continue;
      }
      for (const s of held.splice(0)) yield { kind: 'skipped', skipped: s };
      matched++;
      const state = { closed: false };
      const { match, headerRowIndex } = found;
      const sheet: MatchedSheet = {
        file: path,
        sheet: name,
        headerRow: headerRowIndex + 1,
        headers: match.headers,
        catalog: match.catalog,
        columns: match.columns,
        unmatched: match.unmatched,
        records: sheetRecords(head, headerRowIndex, overflow, rows, state, chunkSize, file, name),
      };
      yield { kind: 'sheet', sheet };
      state.closed = true;
      try {
        await drain(rows);
      } catch (e) {
        throw isGuijiError(e) ? e : unreadable(file, e);
      }
    }
  } finally {
    // An abandoned read must not keep the file open.
    (reader as unknown as { stream?: { destroy?: () => void } }).stream?.destroy?.();
  }
  if (wanted !== undefined && !names.some((n) => n.trim() === wanted)) {
    throw inputError(
      'SHEET_NOT_FOUND',
      `文件“${file}”中没有名为“${wanted}”的工作表。该文件中的工作表有：${names.map((n) => `“${n}”`).join('、') || '（无）'}。请用 --sheet 指定其中之一。`,
      `No sheet named ${wanted} in ${file}; sheets: ${names.join(', ')}`,
      { file, sheet: wanted, sheets: names },
    );
  }
  if (names.length === 0) throw unreadable(file, new Error('no worksheet in the workbook'));
  if (matched === 0) {
    const expected = describeExpectedHeaders(candidates);
    throw inputError(
      'NO_HEADER',
      `文件“${file}”的所有工作表都没有可识别的表头，未导入任何数据：${held.map((s) => s.zh).join(' ')} 应有的表头例如：${expected.zh}。`,
      `No sheet of ${file} has a recognisable header: ${held.map((s) => `${s.sheet}: ${s.code}`).join('; ')}`,
      { file, sheets: names },
    );
  }
  // Sheets after the last matched one (a 说明 sheet at the end) are reported too.
  for (const s of held) yield { kind: 'skipped', skipped: s };
}

function emptySheet(file: string, sheet: string): SkippedSheet {
  return {
    file,
    sheet,
    code: 'SHEET_EMPTY',
    zh: `工作表“${sheet}”是空的，已跳过。`,
    en: `Sheet ${sheet} is empty; skipped`,
  };
}

function noHeader(file: string, sheet: string, catalogs: readonly Catalog[], headerRow?: number): SkippedSheet {
  const expected = describeExpectedHeaders(catalogs);
  const where = headerRow !== undefined ? `第${headerRow}行` : `前${HEADER_SCAN_ROWS}行`;
  return {
    file,
    sheet,
    code: 'NO_HEADER',
    zh: `工作表“${sheet}”的${where}中没有找到可识别的表头，未导入。应有的表头例如：${expected.zh}。如果这是说明页或代码表，可忽略本提示；如果是数据表，请检查表头文字，或用 --header-row 指定表头所在行。`,
    en: `Sheet ${sheet}: no recognisable header in ${headerRow !== undefined ? `row ${headerRow}` : `the first ${HEADER_SCAN_ROWS} rows`}; expected e.g. ${expected.en}`,
  };
}

/** The records of one sheet below its header, in chunks; rows already read for the header search come first. */
async function* sheetRecords(
  head: CellValue[][],
  headerRowIndex: number,
  overflow: { number: number; cells: CellValue[] } | undefined,
  rows: RowIterator,
  state: { closed: boolean },
  chunkSize: number,
  file: string,
  sheet: string,
): AsyncGenerator<RawRecord[]> {
  const late = () =>
    internalError(
      'SHEET_CONSUMED_LATE',
      `读取工作表“${sheet}”时出现程序错误（数据行须在读取下一张工作表之前处理）。`,
      `Records of sheet ${sheet} of ${file} iterated after the reader moved on to the next sheet`,
      { file, sheet },
    );
  if (state.closed) throw late();
  let batch: RawRecord[] = [];
  for (let i = headerRowIndex + 1; i < head.length; i++) {
    const cells = head[i] as CellValue[];
    if (!isEmptyRow(cells)) batch.push({ rowNumber: i + 1, cells });
  }
  if (overflow) {
    if (!isEmptyRow(overflow.cells)) batch.push({ rowNumber: overflow.number, cells: overflow.cells });
    for (;;) {
      if (batch.length >= chunkSize) {
        yield batch;
        batch = [];
        if (state.closed) throw late();
      }
      let r: IteratorResult<StreamRow>;
      try {
        r = await rows.next();
      } catch (e) {
        throw isGuijiError(e) ? e : unreadable(file, e);
      }
      if (r.done) break;
      const cells = rowCells(r.value);
      if (!isEmptyRow(cells)) batch.push({ rowNumber: r.value.number, cells });
    }
  }
  if (batch.length) yield batch;
}

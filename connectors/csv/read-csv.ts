import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Catalog } from '../../src/catalog/types.js';
import { inputError } from '../../src/errors.js';
import type { MatchedSheet, RawRecord, ReadOptions } from '../../src/source.js';
import type { Issue } from '../../src/types.js';
import { candidateCatalogs, describeExpectedHeaders, findHeader, HEADER_SCAN_ROWS } from '../header.js';
import { canonicalEncoding, detectEncoding, makeDecoder } from './decode.js';
import { type CsvDialect, detectDialect } from './dialect.js';
import { CsvSplitter, type RecordProblem } from './split.js';

/** Bytes looked at to guess encoding and dialect and to find the header. */
const PREFIX_BYTES = 1 << 20;
/** Bytes read per step of the main pass. */
const READ_BYTES = 1 << 20;
const DEFAULT_CHUNK = 2000;

/** How a CSV file is to be read, as guessed (or overridden) from its first bytes. */
export interface CsvFormat extends CsvDialect {
  encoding: string;
}

async function readPrefix(path: string): Promise<{ bytes: Buffer; wholeFile: boolean }> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(PREFIX_BYTES);
    const { bytesRead } = await fh.read(buf, 0, PREFIX_BYTES, 0);
    return { bytes: buf.subarray(0, bytesRead), wholeFile: bytesRead < PREFIX_BYTES };
  } finally {
    await fh.close();
  }
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.substring(1) : text;
}

/** Reads the first records of the file (header search), decoding only the prefix. */
function firstRecords(prefix: string, wholeFile: boolean, dialect: CsvDialect, limit: number): string[][] {
  const rows: string[][] = [];
  new CsvSplitter(dialect).feed(prefix, wholeFile, (cells) => {
    if (rows.length < limit) rows.push(cells);
  });
  return rows;
}

function isEmptyRecord(cells: readonly string[]): boolean {
  for (let i = 0; i < cells.length; i++) {
    const c = cells[i] as string;
    if (c.length > 0 && c.trim().length > 0) return false;
  }
  return true;
}

/** Width of a record without its trailing empty cells. */
function usedWidth(cells: readonly string[]): number {
  let n = cells.length;
  while (n > 0 && (cells[n - 1] as string).trim() === '') n--;
  return n;
}

function raggedIssue(row: number, got: number, want: number): Issue {
  return {
    code: 'ROW_RAGGED',
    severity: 'error',
    value: got,
    zh: `第${row}行有${got}列而表头有${want}列，可能是某个单元格内含未加引号的逗号（或分隔符、换行），导致内容错位。请在 Excel 或 WPS 中打开该文件检查这一行，修正后另存为 CSV 或 .xlsx 再提交。`,
    en: `Row ${row} has ${got} fields but the header has ${want}; probably an unquoted delimiter or line break in a cell`,
  };
}

function malformedIssue(row: number): Issue {
  return {
    code: 'CSV_MALFORMED',
    severity: 'error',
    zh: `第${row}行的英文双引号不成对（某个单元格以 " 开头却没有结束引号，或引号后还有其他字符），这一行无法正确拆分成各列。请检查该行单元格中的英文双引号，修正后重新导出。`,
    en: `Row ${row} has an unterminated or stray quote and cannot be split into fields`,
  };
}

/**
 * Streams the records below the header, numbered as a spreadsheet shows them (record index + 1,
 * the header and the lines above it included; a multi-line quoted cell is one row). Empty records
 * are skipped; ragged or malformed ones come with an error issue; bytes the encoding cannot read
 * come out as U+FFFD, which the clean stage rejects (ENCODING_DAMAGED). Reads 1 MB at a time
 * and only when the consumer asks for the next chunk, so memory stays flat whatever the size.
 */
export async function* readCsvRecords(
  path: string,
  format: CsvFormat,
  skipRecords: number,
  width: number,
  chunkSize = DEFAULT_CHUNK,
  file = basename(path),
): AsyncGenerator<RawRecord[]> {
  const decoder = makeDecoder(format.encoding, file);
  const splitter = new CsvSplitter(format);
  let recordIndex = 0;
  let batch: RawRecord[] = [];
  let ready: RawRecord[][] = [];
  // One closure for the whole file, not one per record.
  const sink = (cells: string[], problem: RecordProblem): void => {
    const rowNumber = ++recordIndex;
    if (rowNumber <= skipRecords || isEmptyRecord(cells)) return;
    const rec: RawRecord = { rowNumber, cells };
    if (problem) rec.issues = [malformedIssue(rowNumber)];
    else if (cells.length < width) rec.issues = [raggedIssue(rowNumber, cells.length, width)];
    else if (cells.length > width) {
      // Extra trailing empty cells (a header row saved without its last delimiters) are harmless.
      const used = usedWidth(cells);
      if (used > width) rec.issues = [raggedIssue(rowNumber, used, width)];
    }
    batch.push(rec);
    if (batch.length >= chunkSize) {
      ready.push(batch);
      batch = [];
    }
  };
  let first = true;
  for await (const buf of createReadStream(path, { highWaterMark: READ_BYTES })) {
    let text = decoder.write(buf as Buffer);
    if (first) {
      text = stripBom(text);
      first = false;
    }
    splitter.feed(text, false, sink);
    if (ready.length) {
      const out = ready;
      ready = [];
      for (const chunk of out) yield chunk;
    }
  }
  const tail = decoder.end();
  splitter.feed(first ? stripBom(tail) : tail, true, sink);
  for (const chunk of ready) yield chunk;
  if (batch.length) yield batch;
}

/** Guesses (or takes from `opts`) the encoding and dialect; returns them with the decoded prefix. */
export async function detectCsvFormat(
  path: string,
  opts: Pick<ReadOptions, 'encoding' | 'displayName'> = {},
): Promise<{ format: CsvFormat; prefix: string; wholeFile: boolean }> {
  const file = opts.displayName ?? basename(path);
  const { bytes, wholeFile } = await readPrefix(path);
  const encoding = opts.encoding ? canonicalEncoding(opts.encoding) : detectEncoding(bytes, wholeFile);
  const decoder = makeDecoder(encoding, file);
  let prefix = stripBom(decoder.write(bytes));
  if (wholeFile) prefix += decoder.end();
  return { format: { encoding, ...detectDialect(prefix) }, prefix, wholeFile };
}

/**
 * Opens a CSV: guesses encoding (BOM, strict UTF-8, else GB18030; `opts.encoding` overrides) and
 * delimiter, finds the header in the first 20 records (or `opts.headerRow`), and returns the
 * matched sheet whose `records` stream the rest. A header that matches no catalog is an input
 * error (NO_HEADER) naming what was expected.
 */
export async function openCsv(
  path: string,
  catalogs: readonly Catalog[],
  opts: ReadOptions = {},
): Promise<MatchedSheet> {
  const file = opts.displayName ?? basename(path);
  const { format, prefix, wholeFile } = await detectCsvFormat(path, opts);
  const scan = Math.max(HEADER_SCAN_ROWS, opts.headerRow ?? 0);
  const rows = firstRecords(prefix, wholeFile, format, scan);
  const candidates = candidateCatalogs(catalogs, opts.catalogId);
  const found = findHeader(rows, candidates, {
    ...(opts.headerRow !== undefined ? { headerRow: opts.headerRow } : {}),
  });
  if (!found) {
    const expected = describeExpectedHeaders(candidates);
    const where = opts.headerRow !== undefined ? `第${opts.headerRow}行` : `前${HEADER_SCAN_ROWS}行`;
    throw inputError(
      'NO_HEADER',
      `在文件“${file}”的${where}中没有找到可识别的表头（按 ${format.encoding} 编码读取）。应有的表头例如：${expected.zh}。请确认文件内容是行政处罚或行政许可数据、表头在一行内；如表头在更下面的行，可用 --header-row 指定行号；如文字是乱码，可用 --encoding 指定编码（如 gb18030）。`,
      `No header row found in ${file} (${opts.headerRow !== undefined ? `row ${opts.headerRow}` : `first ${HEADER_SCAN_ROWS} rows`}, read as ${format.encoding}); expected e.g. ${expected.en}`,
      { file },
    );
  }
  const { match, headerRowIndex } = found;
  return {
    file: path,
    headerRow: headerRowIndex + 1,
    headers: match.headers,
    catalog: match.catalog,
    columns: match.columns,
    unmatched: match.unmatched,
    encoding: format.encoding,
    records: {
      [Symbol.asyncIterator]: () =>
        readCsvRecords(path, format, headerRowIndex + 1, match.headers.length, opts.chunkSize ?? DEFAULT_CHUNK, file),
    },
  };
}

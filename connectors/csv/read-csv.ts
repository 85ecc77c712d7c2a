import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Catalog } from '../../src/catalog/types.js';
import { inputError, internalError } from '../../src/errors.js';
import { type BufferPool, pooledBytes } from '../../src/executors/buffer-pool.js';
import type { CsvBytesChunk, MatchedSheet, RawRecord, ReadOptions } from '../../src/source.js';
import type { Issue } from '../../src/types.js';
import { candidateCatalogs, describeExpectedHeaders, findHeader, HEADER_SCAN_ROWS } from '../header.js';
import { canonicalEncoding, decodeUtf8, detectEncoding, makeDecoder } from './decode.js';
import { type CsvDialect, detectDialect } from './dialect.js';
import { byteScanSafe, scanRecordSlices } from './record-bounds.js';
import { CsvSplitter, type RecordProblem } from './split.js';

/** Bytes looked at to guess encoding and dialect and to find the header. */
const PREFIX_BYTES = 1 << 20;
/** Bytes read per step of the main pass. */
const READ_BYTES = 1 << 20;
const DEFAULT_CHUNK = 2000;
/** Bytes per record assumed when a chunk of about N records is cut as bytes (N = 2,000: 1 MB). */
const BYTES_PER_RECORD = 512;
/** Bytes decoded and split at once within a chunk (about 120 rows). */
const SLICE_BYTES = 64 << 10;
/** Bytes per chunk of about `records` records, unless `ReadOptions.chunkBytes` says otherwise. */
function chunkBytesFor(opts: Pick<ReadOptions, 'chunkSize' | 'chunkBytes'>): number {
  return opts.chunkBytes ?? (opts.chunkSize ?? DEFAULT_CHUNK) * BYTES_PER_RECORD;
}
/** One record longer than this is left to the splitter (it salvages a quote that never closes). */
const MAX_RECORD_BYTES = 16 << 20;

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
 * Numbers records as a spreadsheet shows them (record index + 1, the header and the lines above it
 * included; a multi-line quoted cell is one row), drops the ones above and in the header and the empty
 * ones, and flags ragged and malformed ones with an error issue. `base`: records before the first one fed.
 */
export class RecordNumberer {
  private index: number;
  constructor(
    base: number,
    private readonly skipRecords: number,
    private readonly width: number,
  ) {
    this.index = base;
  }

  /** Records fed so far, counted from the start of the file. */
  get recordIndex(): number {
    return this.index;
  }

  /** The record to keep, or null for one to skip. */
  accept(cells: string[], problem: RecordProblem): RawRecord | null {
    const rowNumber = ++this.index;
    if (rowNumber <= this.skipRecords || isEmptyRecord(cells)) return null;
    const rec: RawRecord = { rowNumber, cells };
    const width = this.width;
    if (problem) rec.issues = [malformedIssue(rowNumber)];
    else if (cells.length < width) rec.issues = [raggedIssue(rowNumber, cells.length, width)];
    else if (cells.length > width) {
      // Extra trailing empty cells (a header row saved without its last delimiters) are harmless.
      const used = usedWidth(cells);
      if (used > width) rec.issues = [raggedIssue(rowNumber, used, width)];
    }
    return rec;
  }
}

/**
 * Streams the records below the header (numbered by RecordNumberer). Bytes the encoding cannot read
 * come out as U+FFFD, which the clean stage rejects (ENCODING_DAMAGED). Reads 1 MB at a time and only
 * when the consumer asks for the next chunk, so memory stays flat whatever the size. `from` starts at a
 * byte offset that begins a record, with `base` records before it.
 */
export async function* readCsvRecords(
  path: string,
  format: CsvFormat,
  skipRecords: number,
  width: number,
  chunkSize = DEFAULT_CHUNK,
  file = basename(path),
  from: { offset: number; base: number } = { offset: 0, base: 0 },
): AsyncGenerator<RawRecord[]> {
  const decoder = makeDecoder(format.encoding, file);
  const splitter = new CsvSplitter(format);
  const numberer = new RecordNumberer(from.base, skipRecords, width);
  let batch: RawRecord[] = [];
  let ready: RawRecord[][] = [];
  // One closure for the whole file, not one per record.
  const sink = (cells: string[], problem: RecordProblem): void => {
    const rec = numberer.accept(cells, problem);
    if (!rec) return;
    batch.push(rec);
    if (batch.length >= chunkSize) {
      ready.push(batch);
      batch = [];
    }
  };
  let first = from.offset === 0;
  for await (const buf of createReadStream(path, { highWaterMark: READ_BYTES, start: from.offset })) {
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

/**
 * The records of a chunk of whole records cut from the file's bytes (readCsvChunks), as readCsvRecords
 * would give them: decoded, split and numbered here, which may be a worker thread.
 */
export function decodeCsvChunk(chunk: CsvBytesChunk): RawRecord[] {
  const out: RawRecord[] = [];
  for (const slice of csvChunkSlices(chunk)) for (const r of slice) out.push(r);
  return out;
}

/** A reader's chunk as records: a chunk of CSV bytes decoded here, records as they are. */
export function chunkRecords(chunk: RawRecord[] | CsvBytesChunk): RawRecord[] {
  return Array.isArray(chunk) ? chunk : decodeCsvChunk(chunk);
}

/**
 * `decodeCsvChunk`'s records, a slice at a time (the ~64 KB pieces the reader's scan marked:
 * `chunk.slices`), so that only one slice's strings are alive while its rows go through the stages (a
 * whole chunk's cells alive at once outlive young-generation collections and fill the old generation). A
 * chunk without slice ends (the file's last bytes) is one piece. The count of records must be the one the
 * byte scan found, or the rows after the chunk would be numbered wrong.
 */
export function* csvChunkSlices(chunk: CsvBytesChunk): Generator<RawRecord[]> {
  const { bytes, format } = chunk;
  // A byte-safe encoding (record-bounds.ts) has a WHATWG decoder; slices start and end at record ends,
  // so no character is cut. Only the file's first bytes may hold a BOM.
  const decoder = new TextDecoder(format.encoding, { ignoreBOM: true });
  const bom = chunk.base === 0 ? new TextDecoder(format.encoding) : decoder;
  const utf8 = format.encoding === 'utf-8';
  const numberer = new RecordNumberer(chunk.base, chunk.skipRecords, chunk.width);
  const splitter = new CsvSplitter(format);
  let out: RawRecord[] = [];
  const sink = (cells: string[], problem: RecordProblem): void => {
    const rec = numberer.accept(cells, problem);
    if (rec) out.push(rec);
  };
  let pos = 0;
  for (const end of [...(chunk.slices ?? []), bytes.length]) {
    if (end <= pos) continue;
    const slice = bytes.subarray(pos, end);
    const text = utf8 ? decodeUtf8(slice, pos === 0 && chunk.base === 0) : (pos === 0 ? bom : decoder).decode(slice);
    splitter.feed(text, true, sink);
    pos = end;
    if (out.length > 0) {
      yield out;
      out = [];
    }
  }
  const split = numberer.recordIndex - chunk.base;
  if (chunk.records !== null && split !== chunk.records) {
    throw internalError(
      'CSV_CHUNK_MISCOUNT',
      `内部错误：读取文件“${chunk.file}”时分块计数不一致（第 ${chunk.base + 1} 条记录起），为避免行号错位已停止。请将此文件反馈给管理员。`,
      `${chunk.file}: the byte scan counted ${chunk.records} records from record ${chunk.base + 1}, the splitter ${split}`,
      { file: chunk.file, base: chunk.base },
    );
  }
}

/**
 * The records below the header as chunks of the file's bytes, cut at record ends (a worker thread
 * decodes and splits them: decodeCsvChunk), except the first chunk, which comes decoded (the county is
 * judged from it). Where the byte scan meets a quote it cannot settle, the rest of the file comes as
 * records from readCsvRecords, which reports what is wrong with it. Only for byte-safe encodings.
 */
export async function* readCsvChunks(
  path: string,
  format: CsvFormat,
  skipRecords: number,
  width: number,
  file = basename(path),
  chunkBytes = DEFAULT_CHUNK * BYTES_PER_RECORD,
  buffers?: BufferPool,
): AsyncGenerator<RawRecord[] | CsvBytesChunk> {
  const fh = await open(path, 'r');
  const chunkOf = (bytes: Uint8Array, base: number, records: number | null, slices?: number[]): CsvBytesChunk => ({
    bytes,
    base,
    records,
    ...(slices ? { slices } : {}),
    format,
    skipRecords,
    width,
    file,
  });
  let legacyFrom: { offset: number; base: number } | null = null;
  try {
    let buf: Buffer = pooledBytes(buffers, chunkBytes);
    let filled = 0;
    let offset = 0; // file offset of buf[0]
    let base = 0;
    let eof = false;
    let first = true;
    const emit = (c: CsvBytesChunk): RawRecord[] | CsvBytesChunk => {
      if (!first) return c;
      first = false;
      const records = decodeCsvChunk(c);
      buffers?.give(c.bytes.buffer); // decoded here: its bytes are free again
      return records;
    };
    for (;;) {
      while (filled < buf.length && !eof) {
        const { bytesRead } = await fh.read(buf, filled, buf.length - filled, offset + filled);
        if (bytesRead === 0) eof = true;
        filled += bytesRead;
      }
      const b = scanRecordSlices(buf, filled, format, SLICE_BYTES);
      if (b.irregular || (b.end === 0 && !eof && buf.length >= MAX_RECORD_BYTES)) {
        // A quote the scan cannot settle, or one record of megabytes (a runaway quote): the splitter
        // takes over from the last record end.
        if (b.end > 0) yield emit(chunkOf(buf.subarray(0, b.end), base, b.records, b.slices));
        legacyFrom = { offset: offset + b.end, base: base + b.records };
        break;
      }
      if (b.end === 0 && !eof) {
        const bigger = pooledBytes(buffers, buf.length * 2);
        buf.copy(bigger, 0, 0, filled);
        buffers?.give(buf.buffer);
        buf = bigger;
        continue;
      }
      // The bytes after the last record end go to the next buffer before this one leaves (it may be
      // transferred to a thread).
      const rest = filled - b.end;
      const next = eof && rest === 0 ? null : pooledBytes(buffers, Math.max(chunkBytes, rest * 2));
      if (next) buf.copy(next, 0, b.end, filled);
      if (b.end > 0) yield emit(chunkOf(buf.subarray(0, b.end), base, b.records, b.slices));
      base += b.records;
      offset += b.end;
      if (eof) {
        // The last record without a line break (or an unterminated quote): the splitter settles it.
        if (next && rest > 0) yield emit(chunkOf(next.subarray(0, rest), base, null));
        break;
      }
      buf = next as Buffer;
      filled = rest;
    }
  } finally {
    await fh.close();
  }
  if (legacyFrom) yield* readCsvRecords(path, format, skipRecords, width, DEFAULT_CHUNK, file, legacyFrom);
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
    ...(byteScanSafe(format.encoding)
      ? {
          chunks: {
            [Symbol.asyncIterator]: () =>
              readCsvChunks(
                path,
                format,
                headerRowIndex + 1,
                match.headers.length,
                file,
                chunkBytesFor(opts),
                opts.buffers,
              ),
          },
        }
      : {}),
  };
}

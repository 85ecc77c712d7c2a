import type { Catalog } from './catalog/types.js';
import type { BufferPool } from './executors/buffer-pool.js';
import type { CellValue, ColumnBinding, Issue } from './types.js';

/** One record as a reader delivered it: the clerk's row number and the cells by column index. */
export interface RawRecord {
  rowNumber: number;
  cells: CellValue[];
  /** Problems the reader found in this record (e.g. a ragged CSV row): the row is rejected with them, never dropped. */
  issues?: Issue[];
}

/** Options a clerk can give to override the readers' guesses (DESIGN.md §3). */
export interface ReadOptions {
  /** Only this sheet (by name). */
  sheet?: string;
  /** 1-based header row (the row number the clerk sees). */
  headerRow?: number;
  /** CSV encoding, e.g. gb18030 or utf-8; guessed when absent. */
  encoding?: string;
  /** Restrict header matching to this catalog. */
  catalogId?: string;
  /** Records per yielded chunk. */
  chunkSize?: number;
  /** The file's name in messages when the path is not the clerk's (a spooled copy). */
  displayName?: string;
  /** Not the clerk's: where a CSV's byte chunks take their buffers from (the consumer gives them back). */
  buffers?: BufferPool;
  /** Not the clerk's: bytes per CSV chunk for the stage threads (default about `chunkSize` records' worth). */
  chunkBytes?: number;
}

/** A sheet (or the one table of a CSV) whose header matched a catalog. */
export interface MatchedSheet {
  file: string;
  /** Sheet name for workbooks; undefined for CSV. */
  sheet?: string;
  /** 1-based row number of the header. */
  headerRow: number;
  /** Header texts by column index, as the file had them. */
  headers: string[];
  catalog: Catalog;
  columns: ColumnBinding[];
  /** Header texts that matched no field (kept for the clerk's information). */
  unmatched: string[];
  /** Encoding used (CSV only). */
  encoding?: string;
  /** The records below the header, in chunks. Records with no non-empty cell are not yielded. */
  records: AsyncIterable<RawRecord[]>;
  /**
   * The same records with the bulk as undecoded CSV bytes (whole records), for a worker thread to decode,
   * split and number (connectors/csv decodeCsvChunk): the reading thread then only finds record ends.
   * Only CSV files in an encoding where that is safe.
   */
  chunks?: AsyncIterable<RawRecord[] | CsvBytesChunk>;
}

/** Whole records of a CSV file as its bytes, with what it takes to split and number them anywhere. */
export interface CsvBytesChunk {
  bytes: Uint8Array;
  /** Records of the file before this chunk's first (its first record is row base + 1). */
  base: number;
  /** Records in the chunk as the byte scan counted them; null for the file's last bytes. */
  records: number | null;
  /** Record ends in `bytes` about every 64 KB, as the reader's scan found them (the last is the chunk's end). */
  slices?: number[];
  format: { encoding: string; delimiter: ',' | ';' | '\t'; newline: '\r\n' | '\n' | '\r' };
  /** Records from the start of the file that are not data (title rows and the header). */
  skipRecords: number;
  /** Columns of the header. */
  width: number;
  /** The file's name in messages. */
  file: string;
}

/** A sheet that was not ingested, with the reason (shown to the clerk, not an error of the run). */
export interface SkippedSheet {
  file: string;
  sheet?: string;
  code: string;
  zh: string;
  en: string;
}

/** What a reader yields for a file: matched sheets (to ingest) and skipped ones (to report). */
export type SheetEvent = { kind: 'sheet'; sheet: MatchedSheet } | { kind: 'skipped'; skipped: SkippedSheet };

/**
 * The part of a source a sync reads in one run: rows whose cursor is in `(after, upTo]`.
 * `after` null → from the start; `upTo` absent (or null) → fixed by the reader when it opens.
 */
export interface SyncWindow {
  after: string | null;
  upTo?: string | null;
}

/** A sync source opened for one window (database table or HTTP API). */
export interface SyncRead {
  /** The source column names (or item property paths), in the order of the cells. */
  headers: string[];
  /** Cell index → catalog field. */
  columns: ColumnBinding[];
  /**
   * The window's upper bound (inclusive), as the exact string to store and hand back as `after` next
   * time; null when there is nothing to read. Each reader says when it is known.
   */
  readonly upTo: string | null;
  /** Pages of records; `rowNumber` is the 1-based ordinal within the window. Each iteration re-reads the window. */
  records: AsyncIterable<RawRecord[]>;
  /** The cursor value of a row of the page last yielded (readers that can say it cheaply). */
  cursorOf?(rowNumber: number): string;
  close(): Promise<void>;
}

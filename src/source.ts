import type { Catalog } from './catalog/types.js';
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

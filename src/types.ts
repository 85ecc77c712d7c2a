/**
 * Core types of the engine.
 *
 * Glossary
 * - catalog (信用信息目录): one JSON Schema in `schemas/` describing one kind of credit record.
 * - batch (批次): one file, or one sheet of a workbook; the unit the ledger counts.
 * - input row: a row below the header with at least one non-empty cell.
 * - natural key (自然键): what makes two rows "the same record" (DESIGN.md §2).
 * - outcome: inserted | updated | unchanged | duplicate | rejected; every input row gets one.
 * - issue: an error (rejects the row) or a warning (kept with the row) with a stable code.
 */

/** A cell as a reader delivered it (exceljs gives numbers/dates/booleans, CSV gives strings). */
export type CellValue = string | number | boolean | Date | null;

/** Where a row came from: what a clerk needs to find it in their own file. */
export interface Provenance {
  batchId: string;
  file: string;
  sheet?: string;
  /** The row number the clerk sees: the Excel sheet row; for CSV the line a spreadsheet shows (header = 1). */
  rowNumber: number;
}

export type Severity = 'error' | 'warning';

/** One finding about a row or a cell. `zh` tells a clerk how to fix it; `en` is for logs. */
export interface Issue {
  code: string;
  severity: Severity;
  field?: string;
  /** The header text as the file had it. */
  header?: string;
  /** The cell (or value) the issue is about, as the file had it. */
  value?: unknown;
  zh: string;
  en: string;
}

/** How one file column binds to a catalog field. Several columns may bind to one field (old CF_CFLB1/CF_CFLB2). */
export interface ColumnBinding {
  /** 0-based column index in the sheet/CSV record. */
  index: number;
  /** Header text as the file had it. */
  header: string;
  field: string;
  /** Unit said by the header, e.g. `罚款金额（元）` → '元'. */
  unit?: '元' | '万元';
}

/** One input row on its way through the stages. */
export interface Row {
  prov: Provenance;
  /** Cells as read, aligned with the sheet's headers (index = column). */
  cells: CellValue[];
  /** catalog field → current value (after clean: string | number | string[]; dates as YYYY-MM-DD). */
  values: Record<string, unknown>;
  issues: Issue[];
  /** Natural key (set by the key stage). */
  key?: string;
  /** Content hash over every catalog field (set by the key stage). */
  hash?: string;
}

export const OUTCOMES = ['inserted', 'updated', 'unchanged', 'duplicate', 'rejected'] as const;
export type Outcome = (typeof OUTCOMES)[number];
export type OutcomeCounts = Record<Outcome, number>;

export function emptyCounts(): OutcomeCounts {
  return { inserted: 0, updated: 0, unchanged: 0, duplicate: 0, rejected: 0 };
}

/** What `guiji ingest --json` prints for each batch (DESIGN.md §3). */
export interface BatchSummary extends OutcomeCounts {
  batchId: string | null;
  file: string;
  sheet: string | null;
  catalog: string;
  county: string;
  total: number;
  warnings: number;
  durationMs: number;
}

/** Minimal logger (pino satisfies it). */
export interface Logger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

/** Defaults a county's old templates lack (DESIGN.md §4). Keys are catalog field names. */
export type CountyDefaults = Record<string, string>;

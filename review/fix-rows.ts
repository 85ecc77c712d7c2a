/**
 * A fix as rows: the clerk's edits applied to the stored original cells, then the pure row stages
 * (clean → normalize → validate → key) run with the context an ingest of these cells would have.
 */
import { buildHeaderIndex, headerKey, matchHeader } from '../connectors/header.js';
import { resolveDefaults } from '../pipelines/batch-setup.js';
import { toRows } from '../pipelines/chunk-runner.js';
import { makePipeline } from '../pipelines/stages.js';
import type { Catalog } from '../src/catalog/types.js';
import type { StageContext } from '../src/pipeline.js';
import type { RawRecord } from '../src/source.js';
import type { CellValue, Row } from '../src/types.js';
import type { ReviewDeps } from './deps.js';
import { badRequest } from './errors.js';
import type { LayoutColumn } from './layout.js';

/** Header cell key → the new text the clerk typed. */
export type Edits = Record<string, string>;

/**
 * The columns a fix is read with: the row's layout, plus a column for each edit naming a catalog field
 * the file lacked (a REQUIRED_MISSING on an absent column can only be fixed by adding it).
 */
export function editColumns(catalog: Catalog, layout: readonly LayoutColumn[], edits: Edits): LayoutColumn[] {
  const keys = new Set(layout.map((c) => c.key));
  const index = buildHeaderIndex(catalog);
  const bound = new Set(layout.flatMap((c) => (c.field ? [c.field.name] : [])));
  const out = [...layout];
  for (const key of Object.keys(edits)) {
    if (keys.has(key)) continue;
    const field = index.get(headerKey(key));
    if (!field) {
      throw badRequest(
        'UNKNOWN_COLUMN',
        `要修改的列“${key}”不在这一行中，也不是“${catalog.title}”的数据项。`,
        `edit names column "${key}", which is neither in the row nor a field of ${catalog.id}`,
        { column: key },
      );
    }
    if (bound.has(field.name)) {
      throw badRequest(
        'COLUMN_DUPLICATE',
        `“${key}”对应的数据项“${field.title}”在文件中已有一列，请直接修改那一列。`,
        `edit adds column "${key}" for field ${field.name}, which the file already has`,
        { column: key },
      );
    }
    bound.add(field.name);
    keys.add(key);
    out.push({ key, header: key, field });
  }
  return out;
}

const text = (v: unknown): string => (v === null || v === undefined ? '' : String(v));

/**
 * The row's cells after the edits. An edit equal to what the page showed (the masked form of an ID
 * number) or to the stored value leaves the ORIGINAL value: masking must never overwrite real data.
 */
export function applyEdits(
  original: Readonly<Record<string, CellValue>>,
  shown: Readonly<Record<string, CellValue>>,
  edits: Edits,
): Record<string, CellValue> {
  const cells: Record<string, CellValue> = { ...original };
  for (const [key, value] of Object.entries(edits)) {
    if (value === text(original[key]) || (key in shown && value === text(shown[key]))) continue;
    cells[key] = value;
  }
  return cells;
}

/** Where the checked rows belong: the rejection's catalog, county and file. */
export interface FixTarget {
  catalog: Catalog;
  county: string;
  file: string;
  sheet: string | null;
}

export interface CheckedRows {
  /** Header texts in column order (what ingestRecords binds). */
  headers: string[];
  /** One record per row, aligned with `headers`. */
  records: RawRecord[];
  /** The rows after the stages, in the same order: an error issue means still invalid. */
  rows: Row[];
}

/**
 * Runs rows (cells by key) through the stages as ingestRecords would: the headers bound by the same
 * matcher, the county's defaults for absent required columns, today from the clock.
 */
export function checkRows(
  deps: ReviewDeps,
  target: FixTarget,
  columns: readonly LayoutColumn[],
  rows: ReadonlyArray<{ rowNumber: number; cells: Record<string, CellValue> }>,
): CheckedRows {
  const headers = columns.map((c) => c.header);
  const match = matchHeader(headers, [target.catalog], { minScore: 1 });
  if (!match) {
    throw badRequest(
      'NO_HEADER',
      `这一行的表头与目录“${target.catalog.title}”的任何一列都对不上，无法校验。`,
      `the row's headers bind no field of ${target.catalog.id}`,
    );
  }
  const defaults = resolveDefaults(
    deps,
    { file: target.file, sheet: target.sheet ?? undefined, catalog: target.catalog, columns: match.columns },
    target.county,
  );
  const ctx: StageContext = {
    catalog: target.catalog,
    county: target.county,
    today: deps.clock.today(),
    headers: match.headers,
    columns: match.columns,
    defaults,
    reference: deps.reference,
  };
  const records: RawRecord[] = rows.map((r) => ({
    rowNumber: r.rowNumber,
    cells: columns.map((c) => r.cells[c.key] ?? null),
  }));
  const prov = { batchId: 'fix-check', file: target.file, sheet: target.sheet ?? undefined };
  const result = makePipeline(ctx)(toRows(records, prov));
  return { headers, records, rows: result.rows };
}

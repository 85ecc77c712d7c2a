/**
 * The column layout of an annotated workbook sheet: the county's own columns, in the order its file had
 * them, each with the key its cells are stored under in `rejections.cells` and the catalog field it bound.
 */
import { buildHeaderIndex, headerKey } from '../connectors/header.js';
import { headerTitle } from '../connectors/xlsx/write-template.js';
import { REJECTION_ID_HEADER } from '../pipelines/rejection-id.js';
import type { Catalog, FieldDef } from '../src/catalog/types.js';
import type { ColumnBinding } from '../src/types.js';
import type { Warehouse } from '../src/warehouse/open.js';
import { cellKeys } from '../src/warehouse/rejections.js';

export interface LayoutColumn {
  /** Key of the cell in `rejections.cells`. */
  key: string;
  /** Header text written in row 1: what the file had. */
  header: string;
  field?: FieldDef;
}

/** What the layout is built from: the batch's stored headers and bindings, when it has them. */
export interface LayoutSource {
  batchId: string;
  catalog: Catalog;
  headers?: readonly string[];
  columns?: readonly ColumnBinding[];
}

// How many rejections of a batch are sampled for their cell keys when the batch kept no headers.
const KEY_SAMPLE_ROWS = 50;

/**
 * The layout of a batch: its stored headers in file order (batches.context.headers); else the keys of its
 * rejections' cells ordered by catalog field (jsonb keeps no key order); else the catalog's titles.
 * A rejection-id column the file already carried (a workbook sent back) is left out: the writer adds its own.
 */
export async function batchLayout(wh: Warehouse, src: LayoutSource): Promise<LayoutColumn[]> {
  if (src.headers && src.headers.length > 0) return layoutFromHeaders(src.catalog, src.headers, src.columns ?? []);
  const res = await wh.knex.raw(
    `SELECT DISTINCT k FROM (SELECT cells FROM rejections WHERE batch_id = ? ORDER BY row_number LIMIT ?) r,
       LATERAL jsonb_object_keys(r.cells) AS k`,
    [src.batchId, KEY_SAMPLE_ROWS],
  );
  const keys = (res.rows as Array<{ k: string }>).map((r) => r.k);
  if (keys.length > 0) return layoutFromKeys(src.catalog, keys);
  return src.catalog.fields.map((field) => ({ key: headerTitle(field), header: headerTitle(field), field }));
}

export function layoutFromHeaders(
  catalog: Catalog,
  headers: readonly string[],
  columns: readonly ColumnBinding[],
): LayoutColumn[] {
  const keys = cellKeys(headers);
  const bound = new Map(columns.map((c) => [c.index, catalog.byName.get(c.field)]));
  const out: LayoutColumn[] = [];
  keys.forEach((key, i) => {
    const header = headers[i] ?? '';
    if (header.trim() === REJECTION_ID_HEADER) return;
    const field = bound.size > 0 ? bound.get(i) : fieldOf(catalog, header);
    out.push(field ? { key, header, field } : { key, header });
  });
  return out;
}

/**
 * Keys as `cellsByHeader` made them: `header`, `header#7` (the same header again in column 7), `#3` (an
 * empty header in column 3). Sorted by the catalog order of their field, then column number; unknown last.
 */
export function layoutFromKeys(catalog: Catalog, keys: readonly string[]): LayoutColumn[] {
  const present = new Set(keys);
  const order = new Map(catalog.fields.map((f, i) => [f.name, i]));
  const cols = keys
    .filter((k) => k.trim() !== REJECTION_ID_HEADER)
    .map((key) => {
      const m = /^(.*)#(\d+)$/.exec(key);
      const repeat = m && (m[1] === '' || present.has(m[1] as string));
      const header = repeat ? (m[1] as string) : key;
      const field = header ? fieldOf(catalog, header) : undefined;
      const rank = field ? (order.get(field.name) ?? Number.MAX_SAFE_INTEGER) : Number.MAX_SAFE_INTEGER;
      return { key, header, field, rank, column: repeat ? Number(m[2]) : 0 };
    });
  cols.sort((a, b) => a.rank - b.rank || a.column - b.column || a.key.localeCompare(b.key));
  return cols.map(({ key, header, field }) => (field ? { key, header, field } : { key, header }));
}

function fieldOf(catalog: Catalog, header: string): FieldDef | undefined {
  return header ? buildHeaderIndex(catalog).get(headerKey(header)) : undefined;
}

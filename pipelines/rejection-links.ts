/**
 * The rejection id round trip (issue 4), the same for every executor. A sheet carrying the hidden
 * REJECTION_ID_HEADER column: before the stages, the cells the workbook masked get their original
 * values back and unusable ids get a warning; after them, rows rejected again update their original
 * rejection, loaded rows are linked to it, and the batch's end resolves the linked rejections.
 */
import { maskIdNumber } from '../src/identifiers/index.js';
import type { MatchedSheet, RawRecord } from '../src/source.js';
import type { Row } from '../src/types.js';
import type { Warehouse } from '../src/warehouse/open.js';
import {
  findRejections,
  type LinkScope,
  linkable,
  type Resubmission,
  recordLinks,
  resubmitRejections,
} from '../src/warehouse/rejection-links.js';
import { cellKeys, cellsByHeader, type RejectionBatch, saveRejections } from '../src/warehouse/rejections.js';
import type { ChunkOutput } from './chunk-runner.js';
import { rejectionIdUnknown } from './messages.js';
import { parseRejectionId, REJECTION_ID_HEADER, rejectionIdColumn } from './rejection-id.js';

/** The sheet with the rejection id column bound to no field and not listed as an unmatched header. */
export function withoutRejectionIdColumn<T extends Pick<MatchedSheet, 'headers' | 'columns' | 'unmatched'>>(
  sheet: T,
): T {
  const col = rejectionIdColumn(sheet.headers);
  if (col < 0) return sheet;
  return {
    ...sheet,
    columns: sheet.columns.filter((c) => c.index !== col),
    unmatched: sheet.unmatched.filter((h) => h.trim() !== REJECTION_ID_HEADER),
  };
}

/** Who resolves a batch's linked rejections: the user who started it, else the file. */
export function resolverOf(batch: { createdBy?: string | null; file: string }): string {
  return batch.createdBy ?? `file:${batch.file}`;
}

/**
 * Before the stages (where the records are: the reader's thread): a row whose id names an open
 * rejection of this catalog and county takes back the original value of every cell left as its
 * mask; any other id is warned about and the row goes on as a normal row.
 */
export async function prepareLinkedRecords(
  wh: Warehouse,
  scope: LinkScope & { batchId: string },
  headers: readonly string[],
  records: RawRecord[],
): Promise<void> {
  const col = rejectionIdColumn(headers);
  if (col < 0) return;
  const ids: number[] = [];
  for (const r of records) {
    const id = parseRejectionId(r.cells[col]);
    if (id !== undefined) ids.push(id);
  }
  if (ids.length === 0) return;
  const found = await findRejections(wh, ids);
  const keys = cellKeys(headers); // column → key, as the rejection's cells are stored
  for (const r of records) {
    const id = parseRejectionId(r.cells[col]);
    if (id === undefined) continue;
    const original = found.get(id);
    if (!original || !linkable(original, scope, scope.batchId)) {
      r.issues = [...(r.issues ?? []), rejectionIdUnknown(id, headers[col] as string)];
      continue;
    }
    for (let i = 0; i < keys.length; i++) {
      const cell = r.cells[i];
      if (typeof cell !== 'string' || !cell.includes('*')) continue;
      const was = original.cells[keys[i] as string];
      if (was === null || was === undefined || was instanceof Object) continue;
      const text = String(was).trim();
      if (text !== cell.trim() && maskIdNumber(text) === cell.trim()) r.cells[i] = was;
    }
  }
}

/** How a batch writes its rows that carried rejection ids. */
export interface LinkWriter {
  batch: RejectionBatch;
  headers: readonly string[];
  /** The rejection id column; -1 when the sheet has none. */
  column: number;
  /** Written to the audit log for rejections updated. */
  actor: string;
  /**
   * A held upload: rejected rows are stored as the batch's own rejections until it is committed (a
   * cancelled upload must leave the original rejections as they were).
   */
  defer: boolean;
}

export function linkWriter(
  batch: RejectionBatch,
  headers: readonly string[],
  actor: string,
  defer = false,
): LinkWriter {
  return { batch, headers, column: rejectionIdColumn(headers), actor, defer };
}

/**
 * A chunk's rejected rows (into their original rejection when they carry a usable id, else as new
 * rejections) and the links of its loaded rows. Pass the chunk's transaction in `wh`.
 */
export async function saveChunkRejections(
  wh: Warehouse,
  w: LinkWriter,
  out: Pick<ChunkOutput, 'rejected' | 'links'>,
): Promise<void> {
  let rest: Row[] = out.rejected;
  if (w.column >= 0 && !w.defer) {
    const items: Resubmission[] = [];
    for (const r of out.rejected) {
      const id = parseRejectionId(r.cells[w.column]);
      if (id !== undefined) items.push(resubmission(w, r.prov.rowNumber, r.cells, r.values, r.issues, id));
    }
    if (items.length > 0) {
      const applied = await resubmitRejections(wh, w.batch, items, w.actor);
      if (applied.size > 0) rest = out.rejected.filter((r) => !applied.has(r.prov.rowNumber));
    }
  }
  await saveRejections(wh, w.batch, rest, w.headers);
  if (w.column >= 0 && out.links.length > 0) await recordLinks(wh, w.batch.id, scopeOf(w.batch), out.links);
}

/**
 * Committing a held upload: its rejected rows that carry a usable id move into their original
 * rejections (and leave the batch). Pass the commit's transaction in `wh`.
 */
export async function moveHeldRejections(wh: Warehouse, w: LinkWriter): Promise<number> {
  if (w.column < 0) return 0;
  const keys = cellKeys(w.headers);
  const key = keys[w.column] as string;
  const rows = (await wh
    .knex('rejections')
    .where('batch_id', w.batch.id)
    .select('row_number', 'cells', 'values', 'issues')
    .orderBy('row_number')) as Record<string, unknown>[];
  const items: Resubmission[] = [];
  for (const r of rows) {
    const cells = parse(r.cells) as Record<string, unknown>;
    const id = parseRejectionId(cells[key]);
    if (id === undefined) continue;
    const byIndex = keys.map((k) => cells[k] ?? null);
    items.push(
      resubmission(
        w,
        Number(r.row_number),
        byIndex as Row['cells'],
        parse(r.values) as Row['values'],
        parse(r.issues) as Row['issues'],
        id,
      ),
    );
  }
  if (items.length === 0) return 0;
  const applied = await resubmitRejections(wh, w.batch, items, w.actor);
  if (applied.size > 0) {
    await wh
      .knex('rejections')
      .where('batch_id', w.batch.id)
      .whereIn('row_number', [...applied])
      .delete();
  }
  return applied.size;
}

function resubmission(
  w: LinkWriter,
  rowNumber: number,
  cells: Row['cells'],
  values: Row['values'],
  issues: Row['issues'],
  rejectionId: number,
): Resubmission {
  const byHeader = cellsByHeader(w.headers, cells);
  delete byHeader[cellKeys(w.headers)[w.column] as string]; // the id is the rejection's own, not one of its cells
  return { rejectionId, rowNumber, cells: byHeader, values, issues };
}

function scopeOf(b: RejectionBatch): LinkScope {
  return { catalog: b.catalog, county: b.county };
}

function parse(v: unknown): unknown {
  return typeof v === 'string' ? JSON.parse(v) : v;
}

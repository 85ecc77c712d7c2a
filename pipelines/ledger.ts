/** The ledger's bookkeeping shared by every executor: counting warnings, timings, the invariant of §2. */
import path from 'node:path';
import type { Catalog } from '../src/catalog/types.js';
import { internalError } from '../src/errors.js';
import type { Issue, OutcomeCounts, Row } from '../src/types.js';
import { differingDuplicates, type MergeOptions, type MergeResult, mergeBatch } from '../src/warehouse/load.js';
import type { Warehouse } from '../src/warehouse/open.js';
import { appendWarnings } from '../src/warehouse/rejections.js';
import { duplicateDiffers } from './messages.js';

/** A row that only carries a warning found after staging (e.g. DUPLICATE_DIFFERS), for the warnings table. */
export function warningRow(
  batchId: string,
  where: { file: string; sheet?: string },
  rowNumber: number,
  issue: Issue,
): Row {
  return {
    prov: { batchId, file: path.basename(where.file), sheet: where.sheet, rowNumber },
    cells: [],
    values: {},
    issues: [issue],
  };
}

export function countWarnings(rows: Row[]): number {
  let n = 0;
  for (const r of rows) for (const i of r.issues) if (i.severity === 'warning') n++;
  return n;
}

export function roundMs(ms: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(ms)) out[k] = Math.round(v);
  return out;
}

/** The invariant of DESIGN.md §2; a mismatch is a bug, never something to paper over. */
export function checkLedger(counts: OutcomeCounts, total: number, batchId: string | null): void {
  const sum = counts.inserted + counts.updated + counts.unchanged + counts.duplicate + counts.rejected;
  if (sum !== total) {
    throw internalError(
      'LEDGER_MISMATCH',
      `批次 ${batchId ?? '(试运行)'} 的计数不一致：共 ${total} 行，结果合计 ${sum} 行。`,
      `ledger mismatch for batch ${batchId}: total ${total}, outcomes sum ${sum} (${JSON.stringify(counts)})`,
    );
  }
}

/** Copies a merge's outcomes into a batch's counts and, given, its timings into the batch's stageMs. */
export function recordMerge(
  counts: OutcomeCounts,
  merged: MergeResult & { ms: number },
  stageMs?: Record<string, number>,
): void {
  counts.inserted = merged.inserted;
  counts.updated = merged.updated;
  counts.unchanged = merged.unchanged;
  counts.duplicate = merged.duplicate;
  if (!stageMs) return;
  stageMs.merge = merged.ms;
  for (const [k, v] of Object.entries(merged.timings)) stageMs[`merge_${k}`] = v;
}

/**
 * The batch's set-based merge (every executor, and a held upload's commit) followed by the warnings of
 * duplicates whose content differed from their winner's (DESIGN.md §2), stored with the batch's rows.
 * `merge`: how the merge runs, if not mergeBatch (an ingest that merged while it staged finishes here).
 */
export async function mergeWithDuplicateWarnings(
  wh: Warehouse,
  catalog: Catalog,
  batch: { id: string; file: string; sheet?: string | null },
  opts: MergeOptions = {},
  merge: () => Promise<MergeResult> = () => mergeBatch(wh, catalog, batch.id, opts),
): Promise<MergeResult & { ms: number }> {
  const t0 = performance.now();
  const merged = await merge();
  const ms = performance.now() - t0;
  // A page at a time: a file sent twice over with edits has as many of these as rows.
  const where = { file: batch.file, sheet: batch.sheet ?? undefined };
  let page = merged.duplicateWarnings > 0 ? await differingDuplicates(wh, batch.id) : [];
  while (page.length > 0) {
    await appendWarnings(
      wh,
      batch.id,
      page.map((d) => warningRow(batch.id, where, d.rowNumber, duplicateDiffers(d.winnerRow))),
    );
    page = await differingDuplicates(wh, batch.id, (page.at(-1) as { rowNumber: number }).rowNumber);
  }
  return { ...merged, ms };
}

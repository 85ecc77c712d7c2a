/** The ledger's bookkeeping shared by every executor: counting warnings, timings, the invariant of §2. */
import path from 'node:path';
import { internalError } from '../src/errors.js';
import type { Issue, OutcomeCounts, Row } from '../src/types.js';

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

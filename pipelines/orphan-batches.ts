/**
 * Batches left 'running' by a process that is gone (killed with SIGKILL, out of memory, a machine
 * restarted): closed as failed so the ledger tells the truth. What they staged is dropped; if their merge
 * had not started, nothing of them reached the catalog table, so their rejections and warnings go too
 * (running the file again makes a batch of its own). A merge under way had loaded some rows: those rows
 * stay, and so do the batch's rejections, which are real rejections of rows of that file.
 */
import type { CatalogSet } from '../src/catalog/load.js';
import { ownerMayBeAlive, processOwner } from '../src/owner.js';
import type { Logger } from '../src/types.js';
import { dropStaged } from '../src/warehouse/load.js';
import type { Warehouse } from '../src/warehouse/open.js';
import { deleteBatchRows } from '../src/warehouse/rejections.js';

export interface ReapedBatch {
  id: string;
  file: string;
  owner: string;
  /** Some of its rows had been merged before the process ended. */
  partlyLoaded: boolean;
}

export async function reapOrphanBatches(
  deps: { warehouse: Warehouse; catalogs: CatalogSet; logger: Logger },
  self = processOwner(),
): Promise<ReapedBatch[]> {
  const wh = deps.warehouse;
  const running = (
    await wh.knex.raw(
      `SELECT b.id, b.file, b.catalog, b.owner,
              EXISTS (SELECT 1 FROM merge_chunks c WHERE c.batch_id = b.id) AS merged
       FROM batches b WHERE b.status = 'running' AND b.owner IS NOT NULL`,
    )
  ).rows as Array<{ id: string; file: string; catalog: string; owner: string; merged: boolean }>;
  const reaped: ReapedBatch[] = [];
  for (const b of running) {
    if (ownerMayBeAlive(b.owner, self)) continue;
    const error = `interrupted: process ${b.owner} ended without closing the batch${b.merged ? ' (during its merge: some rows were loaded)' : ''}`;
    const res = await wh.knex.raw(
      `UPDATE batches SET status = 'failed', error = ?, finished_at = now() WHERE id = ? AND status = 'running'`,
      [error, b.id],
    );
    if ((res.rowCount ?? 0) === 0) continue; // closed meanwhile
    await dropStaged(wh, deps.catalogs.get(b.catalog), b.id);
    if (!b.merged) await deleteBatchRows(wh, b.id);
    deps.logger.warn({ batchId: b.id, owner: b.owner, merged: b.merged }, 'closed a batch whose process is gone');
    reaped.push({ id: b.id, file: b.file, owner: b.owner, partlyLoaded: b.merged });
  }
  return reaped;
}

/**
 * Reconcile: make the queues match PostgreSQL. Every worker runs it at start and now and then: requests
 * not yet collected get their collect job, pending chunks their chunk job, batches whose chunks are all
 * done their finalize job, and collected requests whose batches ended are closed. Job ids are
 * deterministic, so for work the queue still holds this changes nothing; after Redis lost its data
 * (or a job was dropped) it puts the work back.
 */
import { listBatchesToFinalize, listPendingChunks } from '../../src/warehouse/chunks.js';
import { listSettledRequests, listUncollectedRequests } from '../../src/warehouse/requests.js';
import type { FlowDeps } from './deps.js';
import { settleRequest } from './finalize.js';

export interface ReconcileReport {
  collect: number;
  chunks: number;
  finalize: number;
  settled: number;
}

export async function reconcile(deps: FlowDeps): Promise<ReconcileReport> {
  const report: ReconcileReport = { collect: 0, chunks: 0, finalize: 0, settled: 0 };
  for (const id of await listUncollectedRequests(deps.warehouse)) {
    await deps.enqueue.collect(id);
    report.collect++;
  }
  for (const c of await listPendingChunks(deps.warehouse)) {
    await deps.enqueue.chunk(c.batchId, c.chunkNo);
    report.chunks++;
  }
  for (const id of await listBatchesToFinalize(deps.warehouse)) {
    await deps.enqueue.finalize(id);
    report.finalize++;
  }
  for (const id of await listSettledRequests(deps.warehouse)) {
    if (await settleRequest(deps, id)) report.settled++;
  }
  return report;
}

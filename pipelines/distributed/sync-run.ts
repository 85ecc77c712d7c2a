/**
 * Starting a sync run of a configured source: one request (kind sync) reading from the source's
 * committed cursor. An unfinished run of the same source is resumed instead of starting a second one,
 * so an interrupted run re-run loads each source row once.
 */
import { configError } from '../../src/errors.js';
import { newBatchId } from '../../src/ids.js';
import { createRequest, findOpenSyncRequest } from '../../src/warehouse/requests.js';
import { getSyncState, recordSyncAttempt } from '../../src/warehouse/sync-state.js';
import type { FlowDeps } from './deps.js';

export interface SyncRunStarted {
  requestId: string;
  resumed: boolean;
}

export async function startSyncRun(deps: FlowDeps, source: string): Promise<SyncRunStarted> {
  const def = deps.config.sources[source];
  if (!def) {
    throw configError(
      'SOURCE_UNKNOWN',
      `配置文件中没有名为“${source}”的数据源。`,
      `no source named ${source} in the config file`,
      { source },
    );
  }
  const open = await findOpenSyncRequest(deps.warehouse, source);
  if (open) {
    await deps.enqueue.collect(open);
    return { requestId: open, resumed: true };
  }
  await recordSyncAttempt(deps.warehouse, source);
  const state = await getSyncState(deps.warehouse, source);
  const requestId = newBatchId(deps.clock.now());
  await createRequest(deps.warehouse, {
    id: requestId,
    kind: 'sync',
    name: source,
    spoolPath: null,
    fileSha256: null,
    options: { source, county: def.county, catalogId: def.catalog, after: state?.cursor ?? null },
  });
  await deps.enqueue.collect(requestId);
  return { requestId, resumed: false };
}

/** Submitting a file to the distributed flow: copy it into the spool, record the request, enqueue collect. */
import path from 'node:path';
import { newBatchId } from '../../src/ids.js';
import { createRequest, type RequestOptions } from '../../src/warehouse/requests.js';
import type { FlowDeps } from './deps.js';

export interface Submitted {
  requestId: string;
  sha256: string;
}

export async function submitFile(
  deps: Pick<FlowDeps, 'warehouse' | 'spool' | 'clock' | 'enqueue'>,
  file: string,
  options: RequestOptions = {},
  displayName = path.basename(file),
): Promise<Submitted> {
  const { spoolPath, sha256 } = await deps.spool.put(file);
  const requestId = newBatchId(deps.clock.now());
  await createRequest(deps.warehouse, {
    id: requestId,
    kind: 'file',
    name: displayName,
    spoolPath,
    fileSha256: sha256,
    options,
  });
  await deps.enqueue.collect(requestId);
  return { requestId, sha256 };
}

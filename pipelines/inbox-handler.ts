/**
 * What the inbox does with a claimed file: the same bytes already in the ledger are not ingested again;
 * otherwise the file is ingested (by whichever executor the caller passes) for the county of its folder,
 * and the outcome tells the watcher where the file goes (archive/ or failed/ with the reason).
 */
import type { ClaimedFile, InboxHandler, InboxResult } from '../connectors/inbox/index.js';
import type { GuijiError } from '../src/errors.js';
import type { Warehouse } from '../src/warehouse/open.js';
import { batchesWithSha } from '../src/warehouse/requests.js';

/** The outcome of ingesting one file, whichever executor ran it. */
export interface InboxIngestOutcome {
  batchIds: string[];
  /** The file or a sheet was unusable (the clerk's reason). */
  error?: GuijiError;
  /** Batches that failed inside the pipeline (not the clerk's fault). */
  failed: Array<{ batchId: string; error: string }>;
}

export type InboxIngest = (file: ClaimedFile) => Promise<InboxIngestOutcome>;

export function makeInboxHandler(wh: Warehouse, ingest: InboxIngest): InboxHandler {
  return async (file): Promise<InboxResult> => {
    const earlier = await batchesWithSha(wh, file.sha256);
    if (earlier.length > 0) return { status: 'already', batchIds: earlier.map((b) => b.id) };
    const out = await ingest(file);
    if (out.failed.length > 0) {
      const ids = out.failed.map((f) => f.batchId).join('、');
      return {
        status: 'failed',
        zh: `文件已读取，但批次 ${ids} 在处理时出现内部错误，数据未全部入库。这不是文件本身的问题，请联系管理员查看日志后重新放入本文件。`,
        en: `batches ${ids} failed inside the pipeline: ${out.failed.map((f) => f.error).join('; ')}`,
      };
    }
    if (out.error && out.batchIds.length === 0) return { status: 'failed', zh: out.error.zh, en: out.error.message };
    // Some sheets loaded and one was unusable: the file is archived; the log and the ledger say which.
    return { status: 'done', batchIds: out.batchIds };
  };
}

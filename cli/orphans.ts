import type { Context } from '../src/context.js';
import { engineDeps } from './context.js';
import { warn } from './output.js';

/** Closes the batches left running by a process that is gone (pipelines/orphan-batches.ts) and says so. */
export async function closeOrphanBatches(ctx: Context): Promise<void> {
  const { reapOrphanBatches } = await import('../pipelines/orphan-batches.js');
  for (const b of await reapOrphanBatches(engineDeps(ctx))) {
    warn(
      b.partlyLoaded
        ? `批次 ${b.id}（${b.file}）的进程（${b.owner}）在合并入库时意外结束，已将该批次标记为失败；部分行已入库，重新导入同一文件即可补全（已入库的行计为“未变”）。`
        : `批次 ${b.id}（${b.file}）的进程（${b.owner}）意外结束，该批次未入库，已标记为失败并清除其暂存数据和退回记录；请重新导入该文件。`,
    );
  }
}

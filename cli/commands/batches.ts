import type { Command } from 'commander';
import { type GlobalOptions, withContext } from '../context.js';
import { closeOrphanBatches } from '../orphans.js';
import { printJsonLine, reportError, say } from '../output.js';

export function registerBatches(program: Command): void {
  program
    .command('batches')
    .description('列出导入批次：排队、进行中（含进度）、完成、失败；五类结果计数与各环节用时')
    .option('--limit <n>', '最多显示多少个批次', '20')
    .option('--json', '每个批次输出一行 JSON')
    .action(async (opts: GlobalOptions & { limit: string }, cmd: Command) => {
      const all = { ...cmd.optsWithGlobals(), ...opts } as GlobalOptions & { limit: string };
      try {
        await withContext(all, async (ctx) => {
          await closeOrphanBatches(ctx);
          const [{ listBatches }, { listQueuedRequests }, { chunkTotals }] = await Promise.all([
            import('../../src/warehouse/batches.js'),
            import('../../src/warehouse/requests.js'),
            import('../../src/warehouse/chunks.js'),
          ]);
          const queued = await listQueuedRequests(ctx.db);
          for (const r of queued) {
            if (all.json)
              printJsonLine({ requestId: r.id, status: 'queued', file: r.name, kind: r.kind, createdAt: r.createdAt });
            else
              say(
                `${r.id}  queued  ${r.kind === 'sync' ? `同步 ${r.name}` : r.name}  等待工作进程（${r.createdAt.toISOString()}）`,
              );
          }
          const batches = await listBatches(ctx.db, { limit: Number(all.limit) || 20 });
          if (!all.json && batches.length === 0 && queued.length === 0) {
            say('还没有导入批次。试试 guiji demo 或 guiji ingest <文件>。');
          }
          for (const b of batches) {
            const progress = b.status === 'running' && b.requestId ? await chunkTotals(ctx.db, b.id) : undefined;
            if (all.json) {
              printJsonLine(
                progress
                  ? {
                      ...b,
                      progress: {
                        chunksDone: progress.done,
                        chunksTotal: b.chunksTotal,
                        rowsRead: progress.rows,
                        rowsDone: progress.rowsDone,
                      },
                    }
                  : b,
              );
              continue;
            }
            if (progress) {
              say(
                `${b.id}  running ${b.catalog} ${b.file}${b.sheet ? ` [${b.sheet}]` : ''} 区县 ${b.county ?? '-'}  分片 ${progress.done}/${b.chunksTotal ?? `${progress.chunks}+（读取中）`}，已处理 ${progress.rowsDone.toLocaleString('en-US')}/${progress.rows.toLocaleString('en-US')} 行`,
              );
              continue;
            }
            const when = b.startedAt instanceof Date ? b.startedAt.toISOString() : String(b.startedAt);
            say(
              `${b.id}  ${b.status.padEnd(7)} ${b.catalog} ${b.file}${b.sheet ? ` [${b.sheet}]` : ''} 区县 ${b.county ?? '-'}  共 ${b.total}：新增 ${b.inserted} 更新 ${b.updated} 未变 ${b.unchanged} 重复 ${b.duplicate} 退回 ${b.rejected}  警告 ${b.warnings}  ${when}`,
            );
            const ms = Object.entries(b.stageMs ?? {})
              .map(([k, v]) => `${k} ${v}ms`)
              .join(', ');
            if (b.status === 'failed' && b.error) say(`    原因：${b.error}`);
            if (ms) say(`    用时：${ms}`);
          }
        });
      } catch (e) {
        process.exitCode = reportError(e, all.json === true);
      }
    });
}

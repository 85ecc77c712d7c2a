import type { Command } from 'commander';
import { type GlobalOptions, withContext } from '../context.js';
import { closeOrphanBatches } from '../orphans.js';
import { printJsonLine, reportError, say } from '../output.js';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('运行状态：进行中的批次、数据源同步情况；分布式模式下另有各队列积压和在线工作进程')
    .option('--json', '输出 JSON')
    .action(async (opts: GlobalOptions, cmd: Command) => {
      const all = { ...cmd.optsWithGlobals(), ...opts } as GlobalOptions;
      try {
        await withContext(all, async (ctx) => {
          await closeOrphanBatches(ctx);
          const { readStatus } = await import('../../jobs/status.js');
          // Without REDIS_URL each command runs its own work: no queues to show, the rest still is.
          const parts = ctx.config.redisUrl
            ? await (await import('../distributed.js')).distributedParts(ctx, { failFast: true })
            : null;
          try {
            const s = await readStatus(ctx.db, parts?.queues ?? null);
            if (all.json) {
              printJsonLine(s);
              return;
            }
            if (parts) {
              say(`队列（前缀 ${ctx.config.distributed.queuePrefix}）：`);
              for (const q of s.queues) {
                say(
                  `  ${q.name.padEnd(9)} 等待 ${q.waiting}，进行中 ${q.active}，延迟重试 ${q.delayed}，失败 ${q.failed}；工作进程 ${q.workers}`,
                );
              }
              say(`在线工作进程：${s.workers.length === 0 ? '无（请运行 guiji worker）' : s.workers.join('、')}`);
            } else {
              say(
                '执行方式：在各命令的进程内执行（未设置 REDIS_URL；设置 REDIS_URL 并运行 guiji worker 可多机并行）。',
              );
            }
            say(s.running.length > 0 ? '进行中的批次：' : '没有进行中的批次。');
            for (const b of s.running) {
              say(
                b.owner
                  ? `  ${b.batchId} ${b.file}：由进程 ${b.owner} 执行中`
                  : `  ${b.batchId} ${b.file}：分片 ${b.chunksDone}/${b.chunksTotal ?? '读取中'}，已读 ${b.rows.toLocaleString('en-US')} 行`,
              );
            }
            if (s.sync.length > 0) say('数据源同步：');
            for (const x of s.sync) {
              say(
                `  ${x.source}：上次成功 ${x.lastSuccessAt?.toISOString() ?? '从未'}${x.lagMinutes !== null ? `（${x.lagMinutes} 分钟前）` : ''}，${x.lastRows ?? 0} 行，游标 ${x.cursor ?? '（无）'}，连续失败 ${x.failures}${x.lastError ? `（${x.lastError}）` : ''}`,
              );
            }
          } finally {
            await parts?.close();
          }
        });
      } catch (e) {
        process.exitCode = reportError(e, all.json === true);
      }
    });
}

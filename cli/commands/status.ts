import type { Command } from 'commander';
import { type GlobalOptions, withContext } from '../context.js';
import { printJsonLine, reportError, say } from '../output.js';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('分布式模式的运行状态：各队列积压、在线工作进程、进行中的批次、数据源同步情况')
    .option('--json', '输出 JSON')
    .action(async (opts: GlobalOptions, cmd: Command) => {
      const all = { ...cmd.optsWithGlobals(), ...opts } as GlobalOptions;
      try {
        await withContext(all, async (ctx) => {
          const [{ distributedParts }, { readStatus }] = await Promise.all([
            import('../distributed.js'),
            import('../../jobs/status.js'),
          ]);
          const parts = await distributedParts(ctx, { failFast: true });
          try {
            const s = await readStatus(ctx.db, parts.queues);
            if (all.json) {
              printJsonLine(s);
              return;
            }
            say(`队列（前缀 ${ctx.config.distributed.queuePrefix}）：`);
            for (const q of s.queues) {
              say(
                `  ${q.name.padEnd(9)} 等待 ${q.waiting}，进行中 ${q.active}，延迟重试 ${q.delayed}，失败 ${q.failed}；工作进程 ${q.workers}`,
              );
            }
            say(`在线工作进程：${s.workers.length === 0 ? '无（请运行 guiji worker）' : s.workers.join('、')}`);
            if (s.running.length > 0) say('进行中的批次：');
            for (const b of s.running) {
              say(
                `  ${b.batchId} ${b.file}：分片 ${b.chunksDone}/${b.chunksTotal ?? '读取中'}，已读 ${b.rows.toLocaleString('en-US')} 行`,
              );
            }
            if (s.sync.length > 0) say('数据源同步：');
            for (const x of s.sync) {
              say(
                `  ${x.source}：上次成功 ${x.lastSuccessAt?.toISOString() ?? '从未'}${x.lagMinutes !== null ? `（${x.lagMinutes} 分钟前）` : ''}，${x.lastRows ?? 0} 行，游标 ${x.cursor ?? '（无）'}，连续失败 ${x.failures}${x.lastError ? `（${x.lastError}）` : ''}`,
              );
            }
          } finally {
            await parts.close();
          }
        });
      } catch (e) {
        process.exitCode = reportError(e, all.json === true);
      }
    });
}

import type { Command } from 'commander';
import type { WorkerStats } from '../../jobs/worker.js';
import { configError } from '../../src/errors.js';
import { engineDeps, type GlobalOptions, openContext } from '../context.js';
import { reportError, warn } from '../output.js';

interface WorkerCliOptions extends GlobalOptions {
  concurrency?: string;
}

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('启动分布式工作进程（需要 REDIS_URL 和 DATABASE_URL），处理队列中的导入与同步任务')
    .option('--concurrency <n>', '同时处理的分片数（默认 2）', '2')
    .action(async (opts: WorkerCliOptions, cmd: Command) => {
      const all = { ...cmd.optsWithGlobals(), ...opts } as WorkerCliOptions;
      process.exitCode = await runWorker(all);
    });
}

async function runWorker(opts: WorkerCliOptions): Promise<number> {
  const concurrency = Number(opts.concurrency ?? 2);
  try {
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
      throw configError(
        'ARGUMENT_INVALID',
        `--concurrency 应为 1 到 64 的整数，而不是“${opts.concurrency}”。`,
        `--concurrency must be an integer 1..64, got ${opts.concurrency}`,
      );
    }
    const ctx = await openContext(opts);
    const [{ distributedParts }, { checkSources }] = await Promise.all([
      import('../distributed.js'),
      import('../../src/sources.js'),
    ]);
    try {
      checkSources(ctx.config, ctx.catalogs); // a bad source mapping fails at start-up, not at 2 a.m.
    } catch (e) {
      await ctx.release();
      throw e;
    }
    const parts = await distributedParts(ctx).catch(async (e) => {
      await ctx.release();
      throw e;
    });
    const { startWorker } = await import('../../jobs/worker.js');
    const worker = startWorker(
      {
        ...engineDeps(ctx),
        spool: parts.spool,
        openSync: parts.openSync,
      },
      parts.queues,
      { concurrency },
    );
    await worker.ready;
    warn(
      `工作进程 ${worker.workerName} 已启动（队列前缀 ${ctx.config.distributed.queuePrefix}，并发 ${concurrency}，暂存目录 ${ctx.config.distributed.spool}）。按 Ctrl+C 停止。`,
    );
    const stats = await new Promise<WorkerStats | undefined>((resolve) => {
      let signals = 0;
      const stop = (sig: string) => {
        signals++;
        if (signals === 1) {
          warn(`收到 ${sig}：处理完手上的任务后退出（再按一次立即退出，未完成的任务交给其他工作进程）。`);
          worker.close().then(resolve, () => resolve(undefined));
        } else {
          worker.close(true).then(resolve, () => resolve(undefined));
        }
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    });
    await parts.close();
    await ctx.release();
    const done = stats
      ? Object.entries(stats.jobs).map(([q, s]) => `${q} ${s.jobs} 个（最长 ${Math.round(s.maxMs)} ms）`)
      : [];
    warn(`工作进程 ${worker.workerName} 已退出。完成任务：${done.join('，') || '无'}。`);
    // For operators tuning GUIJI_CHUNK_ROWS: lock renewal needs the event loop; this is the longest it waited.
    if (stats)
      warn(
        JSON.stringify({
          maxEventLoopDelayMs: stats.maxEventLoopDelayMs,
          p99EventLoopDelayMs: stats.p99EventLoopDelayMs,
          lockMs: stats.lockMs,
        }),
      );
    return 0;
  } catch (e) {
    return reportError(e, false);
  }
}

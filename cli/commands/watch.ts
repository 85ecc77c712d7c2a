import type { Command } from 'commander';
import type { InboxIngest } from '../../pipelines/inbox-handler.js';
import type { Context } from '../../src/context.js';
import { configError } from '../../src/errors.js';
import { engineDeps, type GlobalOptions, openContext } from '../context.js';
import { reportError, warn } from '../output.js';

interface WatchCliOptions extends GlobalOptions {
  settleMs?: string;
  pollMs?: string;
  concurrency?: string;
}

export function registerWatch(program: Command): void {
  program
    .command('watch')
    .description(
      '监视收件目录：各区县把文件放进 <目录>/<区县代码>/，文件写完后自动导入，再移到 archive/ 或 failed/（附原因）',
    )
    .argument('<dir>', '收件目录')
    .option('--settle-ms <ms>', '文件多久不再变化才算写完（默认 2000）', '2000')
    .option('--poll-ms <ms>', '扫描间隔（默认 1000）', '1000')
    .option('--concurrency <n>', '同时处理的文件数（默认 1）', '1')
    .action(async (dir: string, opts: WatchCliOptions, cmd: Command) => {
      const all = { ...cmd.optsWithGlobals(), ...opts } as WatchCliOptions;
      process.exitCode = await runWatch(dir, all);
    });
}

function int(name: string, v: string | undefined, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    throw configError(
      'ARGUMENT_INVALID',
      `${name} 应为不小于 ${min} 的整数，而不是“${v}”。`,
      `${name} must be an integer >= ${min}, got ${v}`,
    );
  }
  return n;
}

async function runWatch(dir: string, opts: WatchCliOptions): Promise<number> {
  let ctx: Context | undefined;
  let closeParts: (() => Promise<void>) | undefined;
  try {
    const settleMs = int('--settle-ms', opts.settleMs, 0);
    const pollMs = int('--poll-ms', opts.pollMs, 50);
    const concurrency = int('--concurrency', opts.concurrency, 1);
    ctx = await openContext(opts);
    const c = ctx;
    const [{ watchInbox }, { makeInboxHandler }] = await Promise.all([
      import('../../connectors/inbox/index.js'),
      import('../../pipelines/inbox-handler.js'),
    ]);
    let ingest: InboxIngest;
    if (c.config.redisUrl) {
      const [{ distributedParts }, { ingestDistributed }] = await Promise.all([
        import('../distributed.js'),
        import('../../jobs/client.js'),
      ]);
      const parts = await distributedParts(c);
      closeParts = parts.close;
      ingest = async (f) => {
        const r = await ingestDistributed(c, parts.queues, f.path, { county: f.county, displayName: f.name });
        return { batchIds: r.summaries.map((s) => s.batchId as string), error: r.error, failed: r.failed };
      };
    } else {
      const { ingestFile } = await import('../../pipelines/ingest.js');
      ingest = async (f) => {
        const r = await ingestFile(
          {
            ...engineDeps(c),
          },
          f.path,
          { county: f.county, displayName: f.name },
        );
        return { batchIds: r.summaries.map((s) => s.batchId as string), error: r.error, failed: [] };
      };
    }
    const abort = new AbortController();
    const stop = (sig: string) => {
      warn(`收到 ${sig}：处理完手上的文件后退出。`);
      abort.abort();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    warn(`正在监视 ${dir}（每个区县一个子目录，如 ${dir}/230184/）。按 Ctrl+C 停止。`);
    await watchInbox(
      { root: dir, settleMs, pollMs, concurrency, logger: c.logger },
      makeInboxHandler(c.db, ingest),
      abort.signal,
    );
    return 0;
  } catch (e) {
    return reportError(e, false);
  } finally {
    await closeParts?.();
    await ctx?.release();
  }
}

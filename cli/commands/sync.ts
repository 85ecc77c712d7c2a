import type { Command } from 'commander';
import type { Context } from '../../src/context.js';
import { engineDeps, type GlobalOptions, withContext } from '../context.js';
import { printJsonLine, reportError, say, warn } from '../output.js';

export function registerSync(program: Command): void {
  program
    .command('sync')
    .description('立即同步一个配置的数据源（数据库或 HTTP 接口）；设置 REDIS_URL 时交给工作进程，否则在本进程完成')
    .argument('<source>', '配置文件 sources 中的数据源名称')
    .option('--json', '每个批次输出一行 JSON')
    .action(async (source: string, opts: GlobalOptions, cmd: Command) => {
      const all = { ...cmd.optsWithGlobals(), ...opts } as GlobalOptions;
      try {
        process.exitCode = await withContext(all, (ctx) => runSync(ctx, source, all.json === true));
      } catch (e) {
        process.exitCode = reportError(e, all.json === true);
      }
    });
}

async function runSync(ctx: Context, source: string, json: boolean): Promise<number> {
  const [{ checkSources }, { startSyncRun }, { followRequest, batchSummary }, { makeSpool }] = await Promise.all([
    import('../../src/sources.js'),
    import('../../pipelines/distributed/sync-run.js'),
    import('../../pipelines/distributed/follow.js'),
    import('../../src/spool.js'),
  ]);
  checkSources(ctx.config, ctx.catalogs);
  const base = {
    ...engineDeps(ctx),
    spool: makeSpool(ctx.config.distributed.spool),
    worker: 'cli',
  };
  let requestId: string;
  if (ctx.config.redisUrl) {
    const { distributedParts } = await import('../distributed.js');
    const parts = await distributedParts(ctx, { failFast: true });
    try {
      ({ requestId } = await startSyncRun(
        { ...base, openSync: parts.openSync, enqueue: parts.queues.enqueue },
        source,
      ));
      warn(`已提交同步任务 ${requestId}，等待工作进程处理…`);
      await followRequest(ctx.db, requestId);
    } finally {
      await parts.close();
    }
  } else {
    const [{ inlineFlow }, { openSyncRequest }] = await Promise.all([
      import('../../pipelines/distributed/run-inline.js'),
      import('../../pipelines/distributed/sync-source.js'),
    ]);
    const flow = inlineFlow({ ...base, openSync: (req) => openSyncRequest(ctx, req) });
    ({ requestId } = await startSyncRun(flow.deps, source));
    await flow.drain();
  }
  const end = await followRequest(ctx.db, requestId, { pollMs: 200 });
  if (end.batches.length === 0 && end.request.status === 'done') say(`数据源 ${source} 没有新的或变化的记录。`);
  let exit = 0;
  for (const b of end.batches) {
    const s = batchSummary(b, end.request.createdAt);
    if (b.status !== 'done') {
      exit = 1;
      warn(`批次 ${b.id} 处理失败：${b.error ?? ''}`);
    } else if (json) printJsonLine(s);
    else {
      say(
        `✔ 同步 ${source}（${ctx.catalogs.get(b.catalog).title}）：共 ${s.total} 行 → 新增 ${s.inserted}，更新 ${s.updated}，未变 ${s.unchanged}，重复 ${s.duplicate}，退回 ${s.rejected}；警告 ${s.warnings}`,
      );
      say(`  批次号 ${b.id}`);
    }
  }
  if (end.request.error) {
    exit = Math.max(exit, 2);
    warn(`错误 [${end.request.error.code}] ${end.request.error.zh}`);
  }
  return exit;
}

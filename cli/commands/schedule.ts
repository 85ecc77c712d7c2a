import type { Command } from 'commander';
import { type GlobalOptions, withContext } from '../context.js';
import { printJsonLine, reportError, say } from '../output.js';

export function registerSchedule(program: Command): void {
  program
    .command('schedule')
    .description('按配置文件为各数据源登记定时同步（cron，默认 Asia/Shanghai 时区）；删除已不在配置中的')
    .option('--json', '输出 JSON')
    .action(async (opts: GlobalOptions, cmd: Command) => {
      const all = { ...cmd.optsWithGlobals(), ...opts } as GlobalOptions;
      try {
        await withContext(all, async (ctx) => {
          const [{ distributedParts }, { registerSchedules }, { checkSources }] = await Promise.all([
            import('../distributed.js'),
            import('../../jobs/schedules.js'),
            import('../../src/sources.js'),
          ]);
          checkSources(ctx.config, ctx.catalogs);
          const parts = await distributedParts(ctx, { failFast: true });
          try {
            const r = await registerSchedules(ctx.config, parts.queues);
            if (all.json) {
              printJsonLine(r);
              return;
            }
            for (const s of r.registered) {
              say(`✔ ${s.source}：${s.cron}（${s.tz}），下次 ${s.next?.toISOString() ?? '—'}`);
            }
            for (const id of r.removed) say(`✘ 已删除不在配置中的定时任务 ${id}`);
            if (r.registered.length === 0) say('配置文件中没有带 schedule 的数据源。');
          } finally {
            await parts.close();
          }
        });
      } catch (e) {
        process.exitCode = reportError(e, all.json === true);
      }
    });
}

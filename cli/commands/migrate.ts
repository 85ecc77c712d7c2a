import type { Command } from 'commander';
import { type GlobalOptions, withContext } from '../context.js';
import { printJsonLine, reportError, say } from '../output.js';

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('把数据仓库表结构升级到最新')
    .option('--json', '输出 JSON')
    .action(async (opts: GlobalOptions, cmd: Command) => {
      const all = { ...cmd.optsWithGlobals(), ...opts } as GlobalOptions;
      try {
        await withContext(
          all,
          async (ctx) => {
            const [{ migrations }, { migrateLatest }] = await Promise.all([
              import('../../migrations/index.js'),
              import('../../src/warehouse/migrate.js'),
            ]);
            const { applied } = await migrateLatest(ctx.db, migrations);
            if (all.json) printJsonLine({ warehouse: ctx.db.kind, applied });
            else say(applied.length ? `已应用迁移：${applied.join(', ')}` : `数据仓库（${ctx.db.kind}）已是最新。`);
          },
          false,
        );
      } catch (e) {
        process.exitCode = reportError(e, all.json === true);
      }
    });
}

import type { Command } from 'commander';
import { type GlobalOptions, withContext } from '../context.js';
import { printJsonLine, reportError, say } from '../output.js';

export function registerBatches(program: Command): void {
  program
    .command('batches')
    .description('列出导入批次（五类结果计数与各环节用时）')
    .option('--limit <n>', '最多显示多少个批次', '20')
    .option('--json', '每个批次输出一行 JSON')
    .action(async (opts: GlobalOptions & { limit: string }, cmd: Command) => {
      const all = { ...cmd.optsWithGlobals(), ...opts } as GlobalOptions & { limit: string };
      try {
        await withContext(all, async (ctx) => {
          const { listBatches } = await import('../../src/warehouse/batches.js');
          const batches = await listBatches(ctx.db, { limit: Number(all.limit) || 20 });
          if (!all.json && batches.length === 0) say('还没有导入批次。试试 guiji demo 或 guiji ingest <文件>。');
          for (const b of batches) {
            if (all.json) {
              printJsonLine(b);
              continue;
            }
            const when = b.startedAt instanceof Date ? b.startedAt.toISOString() : String(b.startedAt);
            say(
              `${b.id}  ${b.status.padEnd(7)} ${b.catalog} ${b.file}${b.sheet ? ` [${b.sheet}]` : ''} 区县 ${b.county ?? '-'}  共 ${b.total}：新增 ${b.inserted} 更新 ${b.updated} 未变 ${b.unchanged} 重复 ${b.duplicate} 退回 ${b.rejected}  警告 ${b.warnings}  ${when}`,
            );
            const ms = Object.entries(b.stageMs ?? {})
              .map(([k, v]) => `${k} ${v}ms`)
              .join(', ');
            if (ms) say(`    用时：${ms}`);
          }
        });
      } catch (e) {
        process.exitCode = reportError(e, all.json === true);
      }
    });
}

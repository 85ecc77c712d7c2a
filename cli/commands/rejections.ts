import type { Command } from 'commander';
import { displayHeader } from '../../pipelines/messages.js';
import { type GlobalOptions, withContext } from '../context.js';
import { printJsonLine, reportError, say } from '../output.js';

interface RejectionsOptions extends GlobalOptions {
  batch?: string;
  limit: string;
  offset: string;
}

export function registerRejections(program: Command): void {
  program
    .command('rejections')
    .description('列出待审核的退回行：哪个文件、哪一行、哪一列、原值是什么、怎么改（身份证号已脱敏）')
    .option('--batch <id>', '只看这个批次')
    .option('--limit <n>', '最多显示多少行', '50')
    .option('--offset <n>', '跳过前多少行', '0')
    .option('--json', '每行输出一行 JSON')
    .action(async (opts: RejectionsOptions, cmd: Command) => {
      const all = { ...cmd.optsWithGlobals(), ...opts } as RejectionsOptions;
      try {
        await withContext(all, async (ctx) => {
          const { listRejections } = await import('../../src/warehouse/rejections.js');
          const personal = new Set(
            ctx.catalogs.list.flatMap((c) => c.fields.filter((f) => f.personal).map((f) => f.name)),
          );
          const list = await listRejections(ctx.db, {
            batchId: all.batch,
            status: 'open',
            limit: Number(all.limit) || 50,
            offset: Number(all.offset) || 0,
            personalFields: personal,
          });
          if (!all.json && list.length === 0) say('没有待审核的退回行。');
          for (const r of list) {
            if (all.json) {
              printJsonLine(r);
              continue;
            }
            say(`批次 ${r.batchId}  ${r.file}${r.sheet ? ` [${r.sheet}]` : ''} 第 ${r.rowNumber} 行：`);
            for (const i of r.issues) {
              const tag = i.severity === 'error' ? '错误' : '警告';
              const cell = i.value === undefined || i.value === null ? '' : `（原值“${String(i.value)}”）`;
              say(`  ${tag} ${i.code}${i.header ? ` 「${displayHeader(i.header)}」` : ''}${cell}：${i.zh}`);
            }
          }
        });
      } catch (e) {
        process.exitCode = reportError(e, all.json === true);
      }
    });
}

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { displayHeader } from '../../pipelines/messages.js';
import { inputError } from '../../src/errors.js';
import { type GlobalOptions, withContext } from '../context.js';
import { printJsonLine, reportError, say } from '../output.js';

interface RejectionsOptions extends GlobalOptions {
  batch?: string;
  limit: string;
  offset: string;
  xlsx?: string;
  force?: boolean;
}

export function registerRejections(program: Command): void {
  program
    .command('rejections')
    .description('列出待审核的退回行：哪个文件、哪一行、哪一列、原值是什么、怎么改（身份证号已脱敏）')
    .option('--batch <id>', '只看这个批次')
    .option('--limit <n>', '最多显示多少行（--xlsx 不受此限）', '50')
    .option('--offset <n>', '跳过前多少行', '0')
    .option(
      '--xlsx <file>',
      '写出带批注的退回工作簿（错误单元格标红并批注，县区改正后可直接交回）；不指定 --batch 时包含全部待处理的退回行',
    )
    .option('--force', '与 --xlsx 一起使用：覆盖已存在的文件')
    .option('--json', '每行输出一行 JSON')
    .action(async (opts: RejectionsOptions, cmd: Command) => {
      const all = { ...cmd.optsWithGlobals(), ...opts } as RejectionsOptions;
      try {
        if (all.xlsx !== undefined) {
          await writeWorkbookFile(all, all.xlsx);
          return;
        }
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

/**
 * `--xlsx FILE`: the annotated workbook of one batch (or of every open rejection), for every county (the
 * command runs on the server). The path is the operator's own argument; an existing file is kept unless
 * --force. A failed write leaves no partial file.
 */
async function writeWorkbookFile(opts: RejectionsOptions, file: string): Promise<void> {
  const target = path.resolve(file);
  await withContext(opts, async (ctx) => {
    const { planAnnotatedWorkbook, writeWorkbookPlan } = await import('../../review/workbook.js');
    const deps = { db: ctx.db, catalogs: ctx.catalogs, clock: ctx.clock };
    // Planned first: an unknown batch is refused before any file is created.
    const plan = await planAnnotatedWorkbook(deps, { batchId: opts.batch }, { county: null });
    const out = createWriteStream(target, { flags: opts.force ? 'w' : 'wx' });
    try {
      await once(out, 'open');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
        throw inputError(
          'OUTPUT_EXISTS',
          `文件 ${target} 已存在。请换一个文件名，或加 --force 覆盖它。`,
          `${target} exists (use --force to overwrite)`,
          { file: target },
        );
      }
      throw e;
    }
    try {
      const { rows } = await writeWorkbookPlan(deps, plan, out);
      if (opts.json) printJsonLine({ file: target, rows, batches: plan.batches.map((b) => b.batch.id) });
      else say(`已写出 ${rows} 行退回数据（${plan.batches.length} 个批次）：${target}`);
    } catch (e) {
      await rm(target, { force: true });
      throw e;
    }
  });
}

import path from 'node:path';
import type { Command } from 'commander';
import { loadCatalogs } from '../../src/catalog/load.js';
import type { GlobalOptions } from '../context.js';
import { printJsonLine, reportError, say } from '../output.js';

export function registerTemplate(program: Command): void {
  program
    .command('template')
    .description('生成县区填报用的 Excel 模板（代码列为文本格式，带下拉选项和填写说明）')
    .argument('<catalog>', '目录，如 admin-penalty、admin-license')
    .option('-o, --out <file>', '输出文件（默认 <目录标题>模板.xlsx）')
    .option('--json', '输出 JSON')
    .action(async (id: string, opts: GlobalOptions & { out?: string }, cmd: Command) => {
      const json = { ...cmd.optsWithGlobals(), ...opts }.json === true;
      try {
        const catalog = loadCatalogs().get(id);
        const out = path.resolve(opts.out ?? `${catalog.title}模板.xlsx`);
        const { writeTemplate } = await import('../../connectors/xlsx/write-template.js');
        await writeTemplate(catalog, out);
        if (json) printJsonLine({ catalog: catalog.id, file: out });
        else say(`已生成 ${catalog.title} 模板：${out}`);
      } catch (e) {
        process.exitCode = reportError(e, json);
      }
    });
}

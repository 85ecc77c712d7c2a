import type { Command } from 'commander';
import { loadCatalogs } from '../../src/catalog/load.js';
import type { GlobalOptions } from '../context.js';
import { printJsonLine, say } from '../output.js';

export function registerCatalogs(program: Command): void {
  program
    .command('catalogs')
    .description('列出信用信息目录')
    .option('--json', '输出 JSON')
    .action((opts: GlobalOptions, cmd: Command) => {
      const json = { ...cmd.optsWithGlobals(), ...opts }.json === true;
      for (const c of loadCatalogs().list) {
        const required = c.fields.filter((f) => f.required).length;
        if (json) {
          printJsonLine({
            id: c.id,
            title: c.title,
            table: c.table,
            version: c.version,
            fields: c.fields.length,
            required,
          });
        } else {
          say(`${c.id.padEnd(16)} ${c.title}（${c.fields.length} 项，其中必填 ${required} 项；表 ${c.table}）`);
        }
      }
    });
}

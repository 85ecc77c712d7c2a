import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { packageRoot } from '../../src/catalog/paths.js';
import type { GlobalOptions } from '../context.js';
import { say } from '../output.js';
import { runIngest } from './ingest.js';

/** The bundled sample county files. */
export function demoFiles(): string[] {
  const dir = path.join(packageRoot(), 'fixtures', 'demo');
  return readdirSync(dir)
    .filter((f) => /\.(xlsx|csv)$/i.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('把自带的示例县区文件导入内置数据仓库，并说明结果和下一步')
    .option('--json', '每个批次输出一行 JSON')
    .action(async (opts: GlobalOptions, cmd: Command) => {
      const all = { ...cmd.optsWithGlobals(), ...opts } as GlobalOptions;
      // The demo always uses the embedded warehouse and runs in this process: no servers on a laptop.
      delete process.env.DATABASE_URL;
      delete process.env.REDIS_URL;
      const files = demoFiles();
      if (!all.json) {
        say(`guiji 演示：导入 ${files.length} 个示例文件到内置数据仓库（${process.env.GUIJI_HOME ?? '.guiji'}）\n`);
      }
      const code = await runIngest(files, { ...all, county: undefined });
      if (!all.json && code === 0) {
        say(`
接下来可以：
  guiji batches                     查看导入批次和各类结果计数
  guiji rejections --batch <批次号>  查看被退回的行和原因（身份证号已脱敏）
  guiji rejections --batch <批次号> --xlsx 退回数据.xlsx   导出标注工作簿（错误单元格标红并附说明）
  guiji user add admin --role admin && guiji serve   打开复核网页，在页面上修正、重新提交或作废退回行
  guiji template admin-penalty -o 行政处罚模板.xlsx   生成给县区填写的模板
  guiji ingest <你的文件.xlsx>        导入你自己的文件（再运行一次 demo，结果会是“未变”）`);
      }
      process.exitCode = code;
    });
}

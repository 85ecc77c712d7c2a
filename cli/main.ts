#!/usr/bin/env node
import { Command } from 'commander';
import { registerBatches } from './commands/batches.js';
import { registerCatalogs } from './commands/catalogs.js';
import { registerDemo } from './commands/demo.js';
import { registerIngest } from './commands/ingest.js';
import { registerMigrate } from './commands/migrate.js';
import { registerRejections } from './commands/rejections.js';
import { registerSchedule } from './commands/schedule.js';
import { registerServe } from './commands/serve.js';
import { registerStatus } from './commands/status.js';
import { registerSync } from './commands/sync.js';
import { registerTemplate } from './commands/template.js';
import { registerUser } from './commands/user.js';
import { registerWatch } from './commands/watch.js';
import { registerWorker } from './commands/worker.js';
import { reportError } from './output.js';

const program = new Command();
program
  .name('guiji')
  .description('归集：把县区报送的信用信息（双公示等）清洗、校验、去重后汇入信用数据仓库')
  .option('--config <file>', '配置文件（默认 ./guiji.config.json 或 $GUIJI_CONFIG）')
  .showHelpAfterError();

registerIngest(program);
registerDemo(program);
registerCatalogs(program);
registerTemplate(program);
registerBatches(program);
registerRejections(program);
registerMigrate(program);
registerWorker(program);
registerSync(program);
registerSchedule(program);
registerStatus(program);
registerWatch(program);
registerServe(program);
registerUser(program);

program.exitOverride((err) => {
  // Usage errors (unknown option, missing argument) are unusable arguments: exit code 2.
  process.exit(err.exitCode === 0 ? 0 : 2);
});

try {
  await program.parseAsync(process.argv);
} catch (e) {
  process.exitCode = reportError(e, process.argv.includes('--json'));
}

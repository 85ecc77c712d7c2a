import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import type { ChunkOutput, ChunkRunnerFactory } from '../../pipelines/chunk-runner.js';
import type { ChunkTask } from '../../pipelines/chunk-worker.js';
import type { FileResult, IngestOptions } from '../../pipelines/ingest.js';
import { displayHeader } from '../../pipelines/messages.js';
import type { GuijiConfig } from '../../src/config.js';
import type { Context } from '../../src/context.js';
import { inputError } from '../../src/errors.js';
import type { HeapGovernor } from '../../src/executors/heap-governor.js';
import type { BatchSummary } from '../../src/types.js';
import { engineDeps, type GlobalOptions, loadCliConfig, withContext } from '../context.js';
import { closeOrphanBatches } from '../orphans.js';
import { makeProgress, printJsonLine, reportError, say, warn } from '../output.js';

interface IngestCliOptions extends GlobalOptions {
  catalog?: string;
  county?: string;
  sheet?: string;
  headerRow?: string;
  encoding?: string;
  dryRun?: boolean;
}

export function registerIngest(program: Command): void {
  program
    .command('ingest')
    .description('导入县区报送的 Excel/CSV 文件（清洗 → 规范化 → 校验 → 去重 → 入库）')
    .argument('<files...>', '.xlsx 或 .csv 文件')
    .option('--catalog <id>', '目录（默认按表头识别），如 admin-penalty')
    .option('--county <code>', '区县行政区划代码，如 230184')
    .option('--sheet <name>', '只导入这个工作表')
    .option('--header-row <n>', '表头所在行号（从 1 开始）')
    .option('--encoding <name>', 'CSV 编码，如 gb18030、utf-8')
    .option('--dry-run', '只检查，不写入数据仓库')
    .option('--json', '每个批次输出一行 JSON')
    .action(async (files: string[], opts: IngestCliOptions, cmd: Command) => {
      const all = { ...cmd.optsWithGlobals(), ...opts } as IngestCliOptions;
      process.exitCode = await runIngest(files, all);
    });
}

export async function runIngest(files: string[], opts: IngestCliOptions): Promise<number> {
  let exit = 0;
  try {
    const readOpts = toIngestOptions(opts);
    // Workbooks need exceljs, a large module: load the reader while the warehouse opens.
    if (files.some((f) => /\.xlsx$/i.test(f))) import('../../connectors/xlsx/read-xlsx.js').catch(() => {});
    const config = await loadCliConfig(opts);
    const queued = Boolean(config.redisUrl) && !readOpts.dryRun;
    // Stage threads start before the warehouse opens: they load their modules and catalogs meanwhile
    // (started after it, a 1M-row CSV's first chunk waited ~0.3 s for them).
    const threads = queued ? undefined : await threadsFor(files, config);
    try {
      await withContext(
        opts,
        async (ctx) => {
          if (readOpts.catalogId) ctx.catalogs.get(readOpts.catalogId); // unknown → exit 2 before any file
          if (queued) {
            exit = await ingestThroughQueues(ctx, files, readOpts, opts.json === true);
            return;
          }
          const stop = onOperatorStop();
          try {
            if (!readOpts.dryRun) await closeOrphanBatches(ctx);
            for (const file of files) {
              const signal = stop.signal;
              const result = await ingestOne(ctx, file, { ...readOpts, signal }, opts.json === true, threads);
              if (result.error) exit = Math.max(exit, reportError(result.error, opts.json === true));
            }
          } finally {
            stop.dispose();
          }
        },
        true,
        config,
      );
    } finally {
      await threads?.close();
    }
  } catch (e) {
    return Math.max(exit, reportError(e, opts.json === true));
  }
  return exit;
}

/**
 * Ctrl-C (or SIGTERM) while files are ingested in this process: the first asks the ingest to stop at the
 * next chunk and clean up its batch (a merge under way is finished first); a second one exits at once.
 */
function onOperatorStop(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const handler = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      warn('再次收到中断信号，立即退出（当前批次会停留在“运行中”状态）。');
      process.exit(sig === 'SIGTERM' ? 143 : 130);
    }
    warn(
      '\n收到中断信号：正在停止，当前批次将标记为失败并清除暂存数据（如正在合并入库，会等合并完成）。再按一次 Ctrl-C 立即退出。',
    );
    controller.abort(sig);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

function toIngestOptions(opts: IngestCliOptions): IngestOptions {
  let headerRow: number | undefined;
  if (opts.headerRow !== undefined) {
    headerRow = Number(opts.headerRow);
    if (!Number.isInteger(headerRow) || headerRow < 1) {
      throw inputError(
        'ARGUMENT_INVALID',
        `--header-row 应为正整数（表头所在的行号），而不是“${opts.headerRow}”。`,
        `--header-row must be a positive integer, got ${opts.headerRow}`,
      );
    }
  }
  return {
    catalogId: opts.catalog,
    county: opts.county,
    sheet: opts.sheet,
    headerRow,
    encoding: opts.encoding,
    dryRun: opts.dryRun === true,
  };
}

/**
 * Worker threads for the row stages when a file is larger than `threadsAboveBytes` (default 8 MB: below
 * it, starting threads costs more than it saves).
 */
async function threadsFor(
  files: string[],
  config: Pick<GuijiConfig, 'threads' | 'threadsAboveBytes'>,
): Promise<{ runner: ChunkRunnerFactory; governor: HeapGovernor; close(): Promise<void> } | undefined> {
  const sizes = await Promise.all(
    files.map((f) =>
      stat(f).then(
        (s) => s.size,
        () => 0,
      ),
    ),
  );
  let threads = config.threads;
  const large = files.filter((_, i) => (sizes[i] ?? 0) > config.threadsAboveBytes);
  if (threads === 0 || large.length === 0) return undefined;
  // A workbook's bottleneck is exceljs on this thread; one stage thread keeps up with it, and a second
  // would only take CPU from the reader (measured: 100k-row xlsx 17.4 s with one, 23.8 s with two).
  const workbooksOnly = large.every((f) => /\.xlsx$/i.test(f));
  if (workbooksOnly) threads = 1;
  const [{ makeThreadPool }, { threadChunkRunner }, { makeHeapGovernor }] = await Promise.all([
    import('../../src/executors/thread-pool.js'),
    import('../../pipelines/chunk-runner.js'),
    import('../../src/executors/heap-governor.js'),
  ]);
  const pool = makeThreadPool<ChunkTask, ChunkOutput>(new URL('../../pipelines/chunk-worker.js', import.meta.url), {
    threads,
    // A workbook's one stage thread receives its rows cloned, all alive at once: a larger young generation
    // lets them die there (100k rows: ~0.25 s and ~0.4 CPU-s less, ~15 MB more at the peak).
    ...(workbooksOnly ? { youngMb: 16 } : {}),
  });
  return {
    runner: threadChunkRunner(pool, threads),
    // exceljs's streaming reader makes garbage fast: collecting at 48 MB spent ~2 s per 100k rows in
    // forced collections; 128 MB keeps a workbook's peak within the bare reader's + 64 MB (bench d). A CSV
    // leaves this thread little garbage (the threads split it): 28 MB took ~20 MB off the peak, same CPU.
    governor: makeHeapGovernor(workbooksOnly ? 128 : 28),
    close: () => pool.close(),
  };
}

async function ingestOne(
  ctx: Context,
  file: string,
  opts: IngestOptions,
  json: boolean,
  threads?: { runner: ChunkRunnerFactory; governor: HeapGovernor },
): Promise<FileResult> {
  let rows = 0;
  let phase = 'read';
  const started = Date.now();
  const progress = makeProgress(() => {
    const secs = (Date.now() - started) / 1000;
    return phase === 'merge'
      ? `${path.basename(file)}：已读 ${rows.toLocaleString('en-US')} 行，正在合并入库…（${secs.toFixed(0)} 秒）`
      : `${path.basename(file)}：已读 ${rows.toLocaleString('en-US')} 行（${Math.round(rows / Math.max(secs, 0.001)).toLocaleString('en-US')} 行/秒）`;
  });
  const { ingestFile } = await import('../../pipelines/ingest.js');
  const result = await ingestFile(
    {
      ...engineDeps(ctx),
      runner: threads?.runner,
      onProgress: (p) => {
        threads?.governor.tick();
        rows = p.rows;
        phase = p.phase;
        progress.tick();
      },
    },
    file,
    opts,
  );
  progress.done();
  for (const s of result.skipped) warn(`跳过 ${path.basename(file)}${s.sheet ? ` 工作表“${s.sheet}”` : ''}：${s.zh}`);
  for (const summary of result.summaries) {
    if (json) printJsonLine(summary);
    else await describeBatch(ctx, summary);
  }
  return result;
}

async function describeBatch(ctx: Context, s: BatchSummary): Promise<void> {
  const title = ctx.catalogs.get(s.catalog).title;
  const where = `${s.file}${s.sheet ? ` [${s.sheet}]` : ''}`;
  say(
    `${s.batchId ? '✔' : '（试运行，未写入）'} ${title} ${where}（区县 ${s.county}）：共 ${s.total} 行 → 新增 ${s.inserted}，更新 ${s.updated}，未变 ${s.unchanged}，重复 ${s.duplicate}，退回 ${s.rejected}；警告 ${s.warnings}；用时 ${(s.durationMs / 1000).toFixed(1)} 秒`,
  );
  if (s.batchId) say(`  批次号 ${s.batchId}`);
  if (s.batchId && s.rejected > 0) {
    const { listRejections } = await import('../../src/warehouse/rejections.js');
    const personal = new Set(
      ctx.catalogs
        .get(s.catalog)
        .fields.filter((f) => f.personal)
        .map((f) => f.name),
    );
    const shown = await listRejections(ctx.db, { batchId: s.batchId, limit: 10, personalFields: personal });
    say('  退回的行（前 10 行）：');
    for (const r of shown) {
      for (const i of r.issues.filter((x) => x.severity === 'error')) {
        say(`    第 ${r.rowNumber} 行${i.header ? `「${displayHeader(i.header)}」` : ''}：${i.zh}`);
      }
    }
    say(`  查看全部：guiji rejections --batch ${s.batchId}`);
  }
}

/** REDIS_URL set: each file goes to the workers through the queues; this process follows it to the end. */
async function ingestThroughQueues(ctx: Context, files: string[], opts: IngestOptions, json: boolean): Promise<number> {
  const [{ distributedParts }, { ingestDistributed }] = await Promise.all([
    import('../distributed.js'),
    import('../../jobs/client.js'),
  ]);
  const parts = await distributedParts(ctx, { failFast: true });
  let exit = 0;
  try {
    for (const file of files) {
      await stat(file).catch(() => {
        throw inputError('FILE_NOT_FOUND', `找不到文件 ${file}。`, `file not found: ${file}`, { file });
      });
      const started = Date.now();
      let done = 0;
      let seen = 0;
      const progress = makeProgress(() => {
        const secs = (Date.now() - started) / 1000;
        return `${path.basename(file)}：已读 ${seen.toLocaleString('en-US')} 行，已处理 ${done.toLocaleString('en-US')} 行（${secs.toFixed(0)} 秒）`;
      });
      const result = await ingestDistributed(ctx, parts.queues, file, opts, {
        onProgress: (p) => {
          done = p.rowsDone;
          seen = p.rowsSeen;
          progress.tick();
        },
        onNoWorker: () =>
          warn(
            `提示：队列（前缀 ${ctx.config.distributed.queuePrefix}）上没有正在运行的工作进程，文件 ${path.basename(file)} 在排队等待。请在本机或其他机器上运行“guiji worker”（REDIS_URL、DATABASE_URL 与本机相同）。`,
          ),
      });
      progress.done();
      for (const s of result.skipped)
        warn(`跳过 ${path.basename(file)}${s.sheet ? ` 工作表“${s.sheet}”` : ''}：${s.zh}`);
      for (const summary of result.summaries) {
        if (json) printJsonLine(summary);
        else await describeBatch(ctx, summary);
      }
      for (const f of result.failed) {
        exit = Math.max(exit, 1);
        warn(`批次 ${f.batchId} 处理失败：${f.error}`);
      }
      if (result.error) exit = Math.max(exit, reportError(result.error, json));
    }
  } finally {
    await parts.close();
  }
  return exit;
}

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { FastifyInstance } from 'fastify';
import type { Context } from '../../src/context.js';
import { configError } from '../../src/errors.js';
import { engineDeps, type GlobalOptions, openContext } from '../context.js';
import { closeOrphanBatches } from '../orphans.js';
import { reportError, warn } from '../output.js';

interface ServeOptions extends GlobalOptions {
  port: string;
  host: string;
  uploadLimitMb: string;
  /** A staged upload nobody commits or cancels is cancelled after this many hours (default 24). */
  stagedTtlHours?: string;
  trustProxy?: boolean;
}

/** How often `guiji serve` looks for staged uploads to expire (and once at start). */
export const EXPIRY_INTERVAL_MS = 15 * 60 * 1000;

export interface Serving {
  app: FastifyInstance;
  url: string;
}

function intOption(name: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw configError(
      'ARGUMENT_INVALID',
      `${name} 应为 ${min} 到 ${max} 的整数，而不是“${raw}”。`,
      `${name} must be an integer ${min}..${max}, got ${raw}`,
    );
  return n;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/**
 * Starts the review server on an open context: uploads go to <home>/uploads. Says where it listens,
 * and how to add the first user when there is none. (The caller owns the context and closes the app.)
 */
export async function startServe(ctx: Context, opts: ServeOptions): Promise<Serving> {
  const port = intOption('--port', opts.port, 0, 65535);
  const limitMb = intOption('--upload-limit-mb', opts.uploadLimitMb, 1, 10_240);
  const ttlHours = intOption('--staged-ttl-hours', opts.stagedTtlHours ?? '24', 1, 8760);
  const uploadDir = path.join(ctx.config.home, 'uploads');
  mkdirSync(uploadDir, { recursive: true });
  const [{ buildServer }, { countUsers }, { expireHeldBatches }] = await Promise.all([
    import('../../web/server.js'),
    import('../../review/users.js'),
    import('../../pipelines/held.js'),
  ]);
  const app = buildServer(
    { ctx, uploadLimitBytes: limitMb * 1024 * 1024, uploadDir },
    { trustProxy: opts.trustProxy === true },
  );
  // Staged uploads nobody commits or cancels are cancelled after --staged-ttl-hours: at start, then
  // every EXPIRY_INTERVAL_MS. One sweep at a time; closing the app stops the timer and waits for it.
  let sweeping: Promise<void> | undefined;
  const sweep = () => {
    // expireHeldBatches logs a line (warn) per batch it cancels; batches whose process is gone (a killed
    // `guiji ingest` on this machine, this server's own previous run) are closed too.
    sweeping ??= expireHeldBatches(engineDeps(ctx), { olderThanMs: ttlHours * 3_600_000 })
      .then(() => closeOrphanBatches(ctx))
      .then(
        () => {},
        (e) => ctx.logger.error({ err: e }, 'staged upload expiry failed'),
      )
      .finally(() => {
        sweeping = undefined;
      });
    return sweeping;
  };
  let timer: NodeJS.Timeout | undefined;
  app.addHook('onClose', async () => {
    clearInterval(timer);
    await sweeping;
  });
  const address = await app.listen({ host: opts.host, port });
  await sweep();
  timer = setInterval(sweep, EXPIRY_INTERVAL_MS);
  timer.unref();
  warn(`复核页面已启动：${address}/ （按 Ctrl+C 停止）`);
  if (!LOOPBACK.has(opts.host))
    warn('注意：登录 Cookie 只通过 HTTPS 发送（本机地址除外），请在前面放一个 HTTPS 反向代理（并加 --trust-proxy）。');
  if ((await countUsers(ctx.db.knex)) === 0)
    warn(
      ctx.config.databaseUrl
        ? '还没有任何用户，页面无法登录。请添加一个管理员：guiji user add <用户名> --role admin'
        : // The embedded warehouse is locked by this process: the command can only run once it stops.
          '还没有任何用户，页面无法登录。请先停止服务（Ctrl+C），运行 guiji user add <用户名> --role admin 添加管理员，再启动。',
    );
  return { app, url: address };
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('启动复核网页和 JSON API：查看、修正、作废退回的行，上传文件，下载标注工作簿')
    .option('--port <n>', '端口', '8080')
    .option('--host <h>', '监听地址（默认只在本机）', '127.0.0.1')
    .option('--upload-limit-mb <n>', '上传文件大小上限（MB）', '50')
    .option('--staged-ttl-hours <n>', '上传后未提交也未取消的批次，超过这么多小时自动取消', '24')
    .option('--trust-proxy', '在反向代理之后运行：按 X-Forwarded-For 识别客户端地址')
    .action(async (opts: ServeOptions, cmd: Command) => {
      const all = { ...cmd.optsWithGlobals(), ...opts } as ServeOptions;
      let ctx: Context | undefined;
      try {
        ctx = await openContext(all);
        const { app } = await startServe(ctx, all);
        await new Promise<void>((resolve) => {
          let signals = 0;
          const stop = (sig: string) => {
            signals++;
            if (signals > 1) process.exit(130); // a second Ctrl+C: do not wait for open connections
            warn(`收到 ${sig}：正在关闭服务……`);
            app.close().then(resolve, (e) => {
              warn(`关闭服务时出错：${(e as Error).message}`);
              resolve();
            });
          };
          process.on('SIGINT', () => stop('SIGINT'));
          process.on('SIGTERM', () => stop('SIGTERM'));
        });
        warn('服务已停止。');
      } catch (e) {
        process.exitCode = reportError(e, all.json === true);
      } finally {
        await ctx?.release();
      }
    });
}

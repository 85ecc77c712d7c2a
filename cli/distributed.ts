/** What every distributed command needs besides the context: queues on Redis, the spool, sync sources. */
import type { Queues } from '../jobs/queues.js';
import type { SyncOpening } from '../pipelines/distributed/deps.js';
import type { Context } from '../src/context.js';
import { configError } from '../src/errors.js';
import { makeSpool, type Spool } from '../src/spool.js';
import type { IngestRequest } from '../src/warehouse/requests.js';

export interface DistributedParts {
  queues: Queues;
  spool: Spool;
  openSync: (req: IngestRequest) => Promise<SyncOpening>;
  close(): Promise<void>;
}

export async function distributedParts(ctx: Context, opts: { failFast?: boolean } = {}): Promise<DistributedParts> {
  if (!ctx.config.databaseUrl) {
    throw configError(
      'DISTRIBUTED_NEEDS_POSTGRES',
      '设置了 REDIS_URL（分布式模式）时必须同时设置 DATABASE_URL：多个工作进程共用一个 PostgreSQL 数据仓库，内置的 PGlite 只能供单个进程使用。',
      'REDIS_URL is set (distributed mode) but DATABASE_URL is not: workers share one PostgreSQL; PGlite serves one process',
    );
  }
  const [{ makeQueues, makeRedis }, { openSyncRequest }] = await Promise.all([
    import('../jobs/queues.js'),
    import('../pipelines/distributed/sync-source.js'),
  ]);
  const connection = makeRedis(ctx.config, opts);
  connection.on('error', () => {}); // reported once per queue below; ioredis reconnects by itself
  let lastReported = 0;
  const queues = makeQueues(ctx.config, connection, (err) => {
    if (Date.now() - lastReported < 10_000) return;
    lastReported = Date.now();
    ctx.logger.warn({ err: err.message }, 'Redis problem; retrying');
  });
  return {
    queues,
    spool: makeSpool(ctx.config.distributed.spool),
    openSync: (req) => openSyncRequest(ctx, req),
    async close() {
      await queues.close();
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}

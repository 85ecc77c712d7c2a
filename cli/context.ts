import type { Context } from '../src/context.js';

export { engineDeps } from '../src/engine-deps.js';

export interface GlobalOptions {
  json?: boolean;
  config?: string;
}

/** Builds the context every command uses: config from env + file, warehouse migrated to the latest schema. */
export async function openContext(opts: GlobalOptions, migrate = true): Promise<Context> {
  // Imported on use: the CLI starts fast and loads the warehouse driver only for commands that need it.
  const [{ loadConfig }, { makeContext }, { migrations }] = await Promise.all([
    import('../src/config.js'),
    import('../src/context.js'),
    import('../migrations/index.js'),
  ]);
  const config = loadConfig(process.env, { configPath: opts.config });
  return makeContext(config, migrate ? { migrations } : {});
}

/** Runs a command body with a context, always releasing it. */
export async function withContext<T>(
  opts: GlobalOptions,
  fn: (ctx: Context) => Promise<T>,
  migrate = true,
): Promise<T> {
  const ctx = await openContext(opts, migrate);
  try {
    return await fn(ctx);
  } finally {
    await ctx.release();
  }
}

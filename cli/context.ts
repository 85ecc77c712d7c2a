import type { GuijiConfig } from '../src/config.js';
import type { Context } from '../src/context.js';

export { engineDeps } from '../src/engine-deps.js';

export interface GlobalOptions {
  json?: boolean;
  config?: string;
}

/** The configuration a command runs with: env + the config file. */
export async function loadCliConfig(opts: GlobalOptions): Promise<GuijiConfig> {
  const { loadConfig } = await import('../src/config.js');
  return loadConfig(process.env, { configPath: opts.config });
}

/**
 * Builds the context every command uses: config from env + file (or `config`, loaded already by a command
 * that needed it first), warehouse migrated to the latest schema.
 */
export async function openContext(opts: GlobalOptions, migrate = true, config?: GuijiConfig): Promise<Context> {
  // Imported on use: the CLI starts fast and loads the warehouse driver only for commands that need it.
  const [loaded, { makeContext }, { migrations }] = await Promise.all([
    config ?? loadCliConfig(opts),
    import('../src/context.js'),
    import('../migrations/index.js'),
  ]);
  return makeContext(loaded, migrate ? { migrations } : {});
}

/** Runs a command body with a context, always releasing it. */
export async function withContext<T>(
  opts: GlobalOptions,
  fn: (ctx: Context) => Promise<T>,
  migrate = true,
  config?: GuijiConfig,
): Promise<T> {
  const ctx = await openContext(opts, migrate, config);
  try {
    return await fn(ctx);
  } finally {
    await ctx.release();
  }
}

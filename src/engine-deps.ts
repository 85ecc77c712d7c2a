import type { Context } from './context.js';

/**
 * What the pipelines need from a context (the warehouse under the name they use). Apart from context.ts,
 * which loads the warehouse drivers: a command names it at start-up without loading them.
 */
export function engineDeps(ctx: Context) {
  return {
    config: ctx.config,
    warehouse: ctx.db,
    catalogs: ctx.catalogs,
    reference: ctx.reference,
    clock: ctx.clock,
    logger: ctx.logger,
  };
}

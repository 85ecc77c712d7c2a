import type { Context } from '../src/context.js';

/** What the web layer is given: the engine context (db, catalogs, clock, logger) and its own settings. */
export interface WebDeps {
  ctx: Context;
  /** Largest upload accepted, in bytes. */
  uploadLimitBytes: number;
  /** Where uploads are streamed to before they are read (a folder of the server's own). */
  uploadDir: string;
}

import type { IngestDeps } from '../pipelines/ingest.js';

/**
 * What the review service needs: the same deps an ingest has (warehouse, catalogs, reference, config,
 * clock, logger), since a fix runs through the ingest code. `engineDeps(ctx)` (src/context.ts) builds it.
 */
export type ReviewDeps = IngestDeps;

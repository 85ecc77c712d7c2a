/** The row stages chained: clean → normalize → validate → key, each timed. */
import type { StageContext, StageReport } from '../src/pipeline.js';
import type { Row } from '../src/types.js';
import { makeCleaner } from './clean.js';
import { makeKeyer } from './key.js';
import { makeNormalizer } from './normalize.js';
import { makeValidator } from './validate.js';

export interface PipelineResult {
  rows: Row[];
  /** Milliseconds spent in each stage for this call. */
  stageMs: Record<string, number>;
  /** Each stage's counts, by stage name. */
  counts: Record<string, Record<string, number>>;
}

/** Plans every stage once for a context; the returned function runs a chunk of rows through them. */
export function makePipeline(ctx: StageContext): (rows: Row[]) => PipelineResult {
  const stages: Array<[string, (rows: Row[]) => StageReport]> = [
    ['clean', makeCleaner(ctx)],
    ['normalize', makeNormalizer(ctx)],
    ['validate', makeValidator(ctx)],
    ['key', makeKeyer(ctx)],
  ];
  return (input) => {
    let rows = input;
    const stageMs: Record<string, number> = {};
    const counts: Record<string, Record<string, number>> = {};
    for (const [name, run] of stages) {
      const t0 = performance.now();
      const report = run(rows);
      stageMs[name] = performance.now() - t0;
      counts[name] = report.counts;
      rows = report.rows;
    }
    return { rows, stageMs, counts };
  };
}

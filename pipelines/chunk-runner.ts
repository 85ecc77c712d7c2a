import type { StageContext } from '../src/pipeline.js';
import { hasError } from '../src/pipeline.js';
import type { Row } from '../src/types.js';
import { makePipeline } from './stages.js';

/** A chunk after the row stages: rows to stage (with key and hash) and rows to reject. */
export interface ChunkOutput {
  valid: Row[];
  rejected: Row[];
  stageMs: Record<string, number>;
}

/** Runs the row stages over chunks of one batch. */
export interface ChunkRunner {
  run(rows: Row[]): Promise<ChunkOutput>;
  close(): Promise<void>;
}

export type ChunkRunnerFactory = (ctx: StageContext) => ChunkRunner;

/** Splits a processed chunk by outcome. */
export function splitChunk(rows: Row[], stageMs: Record<string, number>): ChunkOutput {
  const valid: Row[] = [];
  const rejected: Row[] = [];
  for (const r of rows) (hasError(r) ? rejected : valid).push(r);
  return { valid, rejected, stageMs };
}

/** The row stages in this thread: right for county files of a few thousand rows. */
export const inlineChunkRunner: ChunkRunnerFactory = (ctx) => {
  const pipeline = makePipeline(ctx);
  return {
    run: async (rows) => {
      const r = pipeline(rows);
      return splitChunk(r.rows, r.stageMs);
    },
    close: async () => {},
  };
};

/**
 * An ingest's side of merging while staging (src/warehouse/merge-as-staged.ts): which rows repeat a key,
 * from each chunk's key prints, and up to which row the batch is staged, while chunks end in any order.
 */
import type { Catalog } from '../src/catalog/types.js';
import type { MergeResult } from '../src/warehouse/load.js';
import { MergeAsStaged } from '../src/warehouse/merge-as-staged.js';
import type { Warehouse } from '../src/warehouse/open.js';
import type { ChunkOutput } from './chunk-runner.js';
import { BatchKeyIndex, type KeyIndexOptions } from './key-index.js';

/** Sizes, for tests: the key table's, and the ranges' (see MergeAsStaged). */
export interface IngestMergeOptions {
  keyIndex?: KeyIndexOptions;
  chunkRows?: number;
  minChunkRows?: number;
}

export class IngestMerge {
  private readonly keys: BatchKeyIndex;
  private readonly merge: MergeAsStaged;
  /** Chunks staged but not yet in the run from the first chunk: chunk number → its last row. */
  private readonly ended = new Map<number, number>();
  private nextEnded = 0;
  private stagedTo = 0;
  private reading = true;

  /** `onMergeProgress`: a range merged once the file is read (while reading, progress counts rows read). */
  constructor(
    wh: Warehouse,
    catalog: Catalog,
    batchId: string,
    onMergeProgress: () => void,
    opts: IngestMergeOptions = {},
  ) {
    this.keys = new BatchKeyIndex(opts.keyIndex);
    this.merge = new MergeAsStaged(wh, catalog, batchId, {
      ...(opts.chunkRows !== undefined ? { chunkRows: opts.chunkRows } : {}),
      ...(opts.minChunkRows !== undefined ? { minChunkRows: opts.minChunkRows } : {}),
      onProgress: () => {
        if (!this.reading) onMergeProgress();
      },
    });
  }

  /** Before a chunk's rows are staged: its rows that repeat a key of the batch. */
  beforeStaging(out: ChunkOutput): void {
    this.merge.noteRepeats(this.keys.add(out.prints));
  }

  /** After chunk number `chunkNo` (0, 1, … in file order) is staged: merging may go on up to it. */
  afterStaging(chunkNo: number, out: ChunkOutput): void {
    this.ended.set(chunkNo, lastRowOf(out));
    for (let row = this.ended.get(this.nextEnded); row !== undefined; row = this.ended.get(this.nextEnded)) {
      this.ended.delete(this.nextEnded++);
      this.stagedTo = Math.max(this.stagedTo, row);
    }
    this.merge.stagedUpTo(this.stagedTo);
  }

  /** The merges asked for so far have run (see MergeAsStaged.settled). */
  settled(): Promise<void> {
    return this.merge.settled();
  }

  /** Every chunk is staged: the rest of the merge, committed. */
  finish(): Promise<MergeResult> {
    this.reading = false;
    return this.merge.finish();
  }

  /** Rolls back whatever was merged. */
  abort(): Promise<void> {
    return this.merge.abort();
  }
}

/** The last row number a chunk's output holds (0 if none). */
function lastRowOf(out: ChunkOutput): number {
  let last = out.staged && out.staged.count > 0 ? out.staged.hi : 0;
  for (const r of out.valid ?? []) last = Math.max(last, r.prov.rowNumber);
  for (const r of out.rejected) last = Math.max(last, r.prov.rowNumber);
  return last;
}

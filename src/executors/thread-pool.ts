import { availableParallelism } from 'node:os';
import v8 from 'node:v8';
import { Piscina } from 'piscina';

/** A pool of worker threads running one task module (its default export). */
export interface ThreadPool<I, O> {
  /** `transfer`: buffers of the task moved to the thread, not copied (unusable here afterwards). */
  run(task: I, transfer?: ArrayBuffer[]): Promise<O>;
  close(): Promise<void>;
}

export interface ThreadPoolOptions {
  /** Threads; default: the machine's cores. */
  threads?: number;
  /** Old-generation heap cap per thread (MB). */
  maxHeapMb?: number;
  /**
   * Young-generation size per thread (MB), default 8. Larger means fewer scavenges (measured: 16 MB cut the
   * stage threads' CPU ~15 %) for ~10–15 MB more per thread.
   */
  youngMb?: number;
}

/**
 * Worker threads for the CPU-heavy row stages. The task module is passed in (src/ does not know the
 * pipeline); it must be built JavaScript, so this is used from `dist/` only.
 */
export function makeThreadPool<I, O>(taskModule: URL, opts: ThreadPoolOptions = {}): ThreadPool<I, O> {
  noAllocationSitePretenuring();
  const threads = Math.max(1, opts.threads ?? availableParallelism());
  const piscina = new Piscina({
    filename: taskModule.href,
    minThreads: threads,
    maxThreads: threads,
    // Rows are large messages; a short queue keeps memory flat and lets the reader feel back-pressure.
    maxQueue: threads * 2,
    idleTimeout: 30_000,
    // A thread's heap only needs one chunk at a time; a cap makes V8 collect early instead of growing
    // (peak memory must not grow with the file).
    resourceLimits: { maxOldGenerationSizeMb: opts.maxHeapMb ?? 64, maxYoungGenerationSizeMb: opts.youngMb ?? 8 },
  });
  return {
    run: (task, transfer) => piscina.run(task, transfer ? { transferList: transfer } : {}) as Promise<O>,
    close: () => piscina.destroy(),
  };
}

/**
 * Turns off V8's allocation-site pretenuring, for the whole process (V8 flags are per process) before
 * the threads start. Row work allocates the same arrays and strings chunk after chunk from a few
 * allocation sites (the CSV parser's, the stages'); once V8 saw a batch of them outlive two young
 * collections (a chunk held while the next was read), it allocated every later one straight in the old
 * generation. Those die young all the same, but only a full collection frees them, and the young cells
 * they point to are kept and promoted with them. Measured (bench/CHOICES.md): a stage thread promoted
 * ~1.6 KB per row and ran a mark-compact every ~5,000 rows; without pretenuring, ~0.7 KB and every
 * ~12,000 rows, and the ingest used ~10–15 % less CPU.
 */
function noAllocationSitePretenuring(): void {
  v8.setFlagsFromString('--no-allocation-site-pretenuring');
}

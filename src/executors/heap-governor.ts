import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * Keeps the main thread's heap near what it really holds while a large file streams through.
 * V8 sizes its heap for throughput and lets garbage pile up to several hundred MB before a full
 * collection; a streaming ingest holds only a few chunks, so a collection whenever the used heap
 * passes `limitMb` keeps peak memory flat (a few ms per collection, a few per 100k rows).
 */
export interface HeapGovernor {
  /** Call now and then (e.g. per chunk); collects when the heap is over the limit. */
  tick(): void;
}

export function makeHeapGovernor(limitMb = 48): HeapGovernor {
  let gc: (() => void) | undefined;
  try {
    // `gc` is only exposed with --expose-gc; the flag can be set at run time and read from a new context.
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc') as () => void;
  } catch {
    gc = undefined;
  }
  const limit = limitMb * 1024 * 1024;
  return {
    tick() {
      if (gc && v8.getHeapStatistics().used_heap_size > limit) gc();
    },
  };
}

/**
 * The distributed flow run in this process, without Redis: the steps a worker would take from the
 * queues are taken from an in-memory list instead. Used for `guiji sync` and `guiji watch` without
 * REDIS_URL (the embedded default); every step is the same code the BullMQ workers run.
 */
import { collectRequest } from './collect.js';
import type { Enqueue, FlowDeps } from './deps.js';
import { finalizeBatch } from './finalize.js';
import { makeChunkProcessor } from './process-chunk.js';

type Step =
  | { kind: 'collect'; requestId: string }
  | { kind: 'chunk'; batchId: string; chunkNo: number }
  | { kind: 'finalize'; batchId: string };

/** Deps whose `enqueue` feeds an in-process loop, and the loop that drains it. */
export function inlineFlow(base: Omit<FlowDeps, 'enqueue'>): { deps: FlowDeps; drain(): Promise<void> } {
  const steps: Step[] = [];
  const seen = new Set<string>();
  const push = (key: string, step: Step) => {
    if (seen.has(key)) return; // like a deterministic job id: asking twice runs once
    seen.add(key);
    steps.push(step);
  };
  const enqueue: Enqueue = {
    collect: async (requestId) => push(`collect-${requestId}`, { kind: 'collect', requestId }),
    chunk: async (batchId, chunkNo) => push(`chunk-${batchId}-${chunkNo}`, { kind: 'chunk', batchId, chunkNo }),
    finalize: async (batchId) => {
      seen.delete(`finalize-${batchId}`); // may be asked before its chunks are done: ask again later
      push(`finalize-${batchId}`, { kind: 'finalize', batchId });
    },
  };
  // Back-pressure would wait for chunks this same loop has to run: in-process, run them as they come.
  const deps: FlowDeps = {
    ...base,
    config: { ...base.config, distributed: { ...base.config.distributed, maxChunksInFlight: Number.MAX_SAFE_INTEGER } },
    enqueue,
  };
  const processChunk = makeChunkProcessor(deps);
  return {
    deps,
    async drain() {
      while (steps.length > 0) {
        const step = steps.shift() as Step;
        if (step.kind === 'collect') await collectRequest(deps, step.requestId);
        else if (step.kind === 'chunk') await processChunk(step.batchId, step.chunkNo);
        else await finalizeBatch(deps, step.batchId);
      }
    },
  };
}

/**
 * Worker-thread task: runs the row stages over one chunk. Each thread loads the catalogs and reference
 * data once and plans the stages once per batch (the spec), so a task carries only its records.
 */
import { loadCatalogs } from '../src/catalog/load.js';
import type { StageContext } from '../src/pipeline.js';
import { loadReference } from '../src/reference.js';
import type { RawRecord } from '../src/source.js';
import type { ColumnBinding, CountyDefaults, Row } from '../src/types.js';
import { type ChunkOutput, splitChunk, toRows } from './chunk-runner.js';
import { makePipeline, type PipelineResult } from './stages.js';

/** The serialisable part of a StageContext: what a thread needs to rebuild it. */
export interface StageSpec {
  batchKey: string;
  catalogId: string;
  county: string;
  today: string;
  headers: string[];
  columns: ColumnBinding[];
  defaults: CountyDefaults;
  /** Encode valid rows for COPY here (false for dry runs, which need the rows). */
  encode: boolean;
}

export interface ChunkTask {
  spec: StageSpec;
  prov: { batchId: string; file: string; sheet?: string };

  records: RawRecord[];
}

let catalogs: ReturnType<typeof loadCatalogs> | undefined;
let reference: ReturnType<typeof loadReference> | undefined;
const planned = new Map<string, (rows: Row[]) => PipelineResult>();

function pipelineFor(spec: StageSpec): (rows: Row[]) => PipelineResult {
  let p = planned.get(spec.batchKey);
  if (!p) {
    catalogs ??= loadCatalogs();
    reference ??= loadReference();
    const ctx: StageContext = {
      catalog: catalogs.get(spec.catalogId),
      county: spec.county,
      today: spec.today,
      headers: spec.headers,
      columns: spec.columns,
      defaults: spec.defaults,
      reference,
    };
    p = makePipeline(ctx);
    // A thread serves one batch at a time in practice; keep the map from growing across batches.
    if (planned.size > 4) planned.clear();
    planned.set(spec.batchKey, p);
  }
  return p;
}

export default function runChunk(task: ChunkTask): ChunkOutput {
  const { spec, prov } = task;
  const result = pipelineFor(spec)(toRows(task.records, prov));
  if (!spec.encode) return splitChunk(result.rows, result.stageMs);
  const catalog = (catalogs ?? loadCatalogs()).get(spec.catalogId);
  return splitChunk(result.rows, result.stageMs, {
    catalog,
    id: prov.batchId,
    county: spec.county,
    file: prov.file,
    sheet: prov.sheet ?? null,
  });
}

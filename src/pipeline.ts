import type { Catalog } from './catalog/types.js';
import type { ColumnBinding, CountyDefaults, Row } from './types.js';

/** Read-only reference data a stage may consult (loaded from schemas/reference). */
export interface ReferenceData {
  /** Current division codes (GB/T 2260 / NBS) → name; includes prefecture and province codes. */
  divisions: ReadonlyMap<string, string>;
  /** Historical division codes (old ID numbers and USCCs keep them). */
  historicalDivisions: ReadonlySet<string>;
}

/**
 * What a stage may use besides its rows. No pool, no Redis, no file: stages are pure and can run
 * in a worker thread or a BullMQ worker alike.
 */
export interface StageContext {
  catalog: Catalog;
  /** The batch's county (6-digit division code). */
  county: string;
  /** Today in Asia/Shanghai (or $TZ), YYYY-MM-DD. */
  today: string;
  /** Header texts by column index, as the file had them. */
  headers: string[];
  /** How columns bind to fields. */
  columns: ColumnBinding[];
  /** Values for always-required fields the file lacks (from the county config). */
  defaults: CountyDefaults;
  reference: ReferenceData;
}

export interface StageReport {
  rows: Row[];
  counts: Record<string, number>;
  ms: number;
}

/** A stage: a function of (rows, ctx). Rows with an error issue pass through untouched by later stages. */
export type Stage = (rows: Row[], ctx: StageContext) => StageReport;

/**
 * A Stage from a planner: the plan (regexes, lookups, compiled checks) is made once per context and
 * reused for every chunk of that batch.
 */
export function plannedStage(plan: (ctx: StageContext) => (rows: Row[]) => StageReport): Stage {
  const plans = new WeakMap<StageContext, (rows: Row[]) => StageReport>();
  return (rows, ctx) => {
    let run = plans.get(ctx);
    if (!run) {
      run = plan(ctx);
      plans.set(ctx, run);
    }
    return run(rows);
  };
}

/** Returns true when the row has at least one error (it will be rejected). */
export function hasError(row: Row): boolean {
  for (const i of row.issues) if (i.severity === 'error') return true;
  return false;
}

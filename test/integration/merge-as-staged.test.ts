import { createHash } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ChunkOutput } from '../../pipelines/chunk-runner.js';
import { IngestMerge } from '../../pipelines/ingest-merge.js';
import { BatchKeyIndex, type KeyIndexOptions, keyPrints } from '../../pipelines/key-index.js';
import { loadCatalogs } from '../../src/catalog/load.js';
import type { Row } from '../../src/types.js';
import { createBatch } from '../../src/warehouse/batches.js';
import { type MergeResult, mergeBatch, stageRows } from '../../src/warehouse/load.js';
import { MergeAsStaged } from '../../src/warehouse/merge-as-staged.js';
import type { Warehouse } from '../../src/warehouse/open.js';
import { penaltyRow } from '../helpers/penalty-rows.js';
import { describeEachWarehouse, openTestWarehouse, type TestWarehouse } from '../helpers/warehouses.js';

const catalog = loadCatalogs().get('admin-penalty');
const info = (id: string) => ({ id, county: '230102', file: 'f.xlsx', sheet: 'S1' });

/** A row of record `key` (0…) with content `variant`. */
function recordRow(batchId: string, rowNumber: number, key: number, variant: number): Row {
  return penaltyRow(catalog, batchId, rowNumber, key, { violation_facts: `事实 ${variant}` });
}

/** Deterministic numbers in [0, 1) from a seed (sha1 of seed and counter), so a failing scenario can be run again. */
function random(seed: number): () => number {
  let n = 0;
  return () => createHash('sha1').update(`${seed}:${n++}`).digest().readUInt32BE(0) / 2 ** 32;
}

interface Scenario {
  before: Row[];
  batch: Row[];
  /** The order in which the batch's chunks are staged (threads finish chunks in any order). */
  chunks: Row[][];
  /** The first row of each chunk, in file order. */
  order: number[];
  /** Prints that collide on purpose (key mod 3), instead of the key's own. */
  collide: boolean;
  index: KeyIndexOptions;
}

function scenario(seed: number): Scenario {
  const rnd = random(seed);
  const pick = (n: number) => Math.floor(rnd() * n);
  const keys = 3 + pick(8);
  const before: Row[] = [];
  for (let k = 0; k < keys; k++) if (rnd() < 0.5) before.push(recordRow('p', before.length + 2, k, pick(3)));
  const batch = Array.from({ length: 5 + pick(40) }, (_, i) => recordRow('b', i + 2, pick(keys), pick(3)));
  const size = 1 + pick(6);
  const chunks: Row[][] = [];
  for (let i = 0; i < batch.length; i += size) chunks.push(batch.slice(i, i + size));
  const order = chunks.map((c) => (c[0] as Row).prov.rowNumber);
  for (let i = chunks.length - 1; i > 0; i--) {
    const j = pick(i + 1);
    [chunks[i], chunks[j]] = [chunks[j] as Row[], chunks[i] as Row[]];
  }
  const full = rnd() < 0.25;
  return {
    before,
    batch,
    chunks,
    order,
    collide: rnd() < 0.3,
    index: full ? { initialSlots: 4, maxSlots: 4 } : {},
  };
}

function printsOf(rows: Row[], collide: boolean): Int32Array {
  const prints = keyPrints(rows);
  if (collide) {
    for (let i = 0; i < rows.length; i++) {
      const subject = String((rows[i] as Row).values.subject_uscc);
      prints[2 * i + 1] = Number(subject.slice(-3, -1)) % 3;
    }
  }
  return prints;
}

async function loadWhole(wh: Warehouse, id: string, rows: Row[]): Promise<MergeResult> {
  await createBatch(wh, { id, file: 'f.xlsx', sheet: 'S1', catalog: catalog.id, county: '230102' });
  await stageRows(wh, catalog, info(id), rows);
  return mergeBatch(wh, catalog, id, { chunkRows: 4 });
}

/**
 * As pipelines/ingest.ts drives it (IngestMerge): chunks staged in the scenario's order, each reported
 * before and after its COPY, ranges merged as soon as every chunk up to them is staged.
 */
/**
 * `settle`: each chunk's merges have run before the next chunk's repeats are noted, so a first row is
 * merged before its repeats are known (the end step then takes its place); without, a first row whose
 * range has not begun when its repeat is noted waits for the end with it.
 */
async function loadAsStaged(wh: Warehouse, id: string, s: Scenario, settle = false): Promise<MergeResult> {
  await createBatch(wh, { id, file: 'f.xlsx', sheet: 'S1', catalog: catalog.id, county: '230102' });
  const merge = new IngestMerge(wh, catalog, id, () => {}, { keyIndex: s.index, chunkRows: 3, minChunkRows: 1 });
  const chunkNo = (c: Row[]) => s.order.indexOf((c[0] as Row).prov.rowNumber);
  for (const chunk of s.chunks) {
    const out: ChunkOutput = {
      valid: chunk,
      staged: null,
      validCount: chunk.length,
      warned: [],
      rejected: [],
      links: [],
      stageMs: {},
      prints: printsOf(chunk, s.collide),
    };
    merge.beforeStaging(out);
    await stageRows(wh, catalog, info(id), chunk);
    merge.afterStaging(chunkNo(chunk), out);
    if (settle) await merge.settled();
  }
  return merge.finish();
}

const loadAsStagedSettled = (wh: Warehouse, id: string, s: Scenario) => loadAsStaged(wh, id, s, true);

/** The distributed finalize's way: every chunk staged, then one merge told the repeats the chunks' prints give. */
async function loadWithRepeats(wh: Warehouse, id: string, s: Scenario): Promise<MergeResult> {
  await createBatch(wh, { id, file: 'f.xlsx', sheet: 'S1', catalog: catalog.id, county: '230102' });
  const keys = new BatchKeyIndex(s.index);
  const repeats = { later: [] as number[], early: [] as number[] };
  for (const chunk of s.chunks) {
    await stageRows(wh, catalog, info(id), chunk);
    keys.add(printsOf(chunk, s.collide), repeats);
  }
  return mergeBatch(wh, catalog, id, { chunkRows: 4, repeats });
}

/** Everything the merge decides, in a form two warehouses can be compared by. */
async function state(wh: Warehouse, id: string) {
  const main = await wh.knex.raw(
    `SELECT record_key, content_hash, version, batch_id, source_row FROM admin_penalty ORDER BY record_key`,
  );
  const history = await wh.knex.raw(
    `SELECT record_key, version, content_hash, batch_id, source_row, superseded_by_batch
     FROM admin_penalty_history ORDER BY record_key, version`,
  );
  const dups = await wh.knex.raw(
    'SELECT row_number, winner_row, differs FROM merge_duplicates WHERE batch_id = ? ORDER BY row_number',
    [id],
  );
  const staged = await wh.knex.raw('SELECT count(*)::int AS n FROM admin_penalty_staging');
  return { main: main.rows, history: history.rows, dups: dups.rows, staged: staged.rows[0].n };
}

describeEachWarehouse('merging while staging', (kind) => {
  let whole: TestWarehouse;
  let asStaged: TestWarehouse;
  beforeAll(async () => {
    whole = await openTestWarehouse(kind, 'whole');
    asStaged = await openTestWarehouse(kind, 'as_staged');
  });
  afterAll(async () => {
    await whole?.dispose();
    await asStaged?.dispose();
  });

  async function reset(wh: Warehouse) {
    for (const t of ['admin_penalty', 'admin_penalty_history', 'admin_penalty_staging', 'merge_chunks']) {
      await wh.knex.raw(`DELETE FROM ${t}`);
    }
    await wh.knex.raw('DELETE FROM merge_duplicates');
    await wh.knex.raw('DELETE FROM batches');
  }

  it('gives what merging the whole staged batch gives: records, versions, history, duplicates, counts (and so does a merge told the repeats)', async () => {
    const covered = { collide: 0, full: 0, repeats: 0 };
    for (let seed = 1; seed <= 40; seed++) {
      const s = scenario(seed);
      if (s.collide) covered.collide++;
      if (s.index.maxSlots !== undefined) covered.full++;
      await reset(whole.wh);
      if (s.before.length > 0) await loadWhole(whole.wh, 'p', s.before);
      const expected = await loadWhole(whole.wh, 'b', s.batch);
      const { timings: _a, ...want } = expected;
      const a = await state(whole.wh, 'b');
      let b: typeof a = a;
      const ways = [
        ['as staged', loadAsStaged],
        ['as staged, merged between chunks', loadAsStagedSettled],
        ['with repeats', loadWithRepeats],
      ] as const;
      // PGlite merges nothing before `finish` (one connection): there both "as staged" ways are one.
      for (const [way, load] of ways.filter(([w]) => kind === 'postgres' || w !== 'as staged, merged between chunks')) {
        await reset(asStaged.wh);
        if (s.before.length > 0) await loadWhole(asStaged.wh, 'p', s.before);
        const { timings: _b, ...have } = await load(asStaged.wh, 'b', s);
        expect({ seed, way, ...have }).toEqual({ seed, way, ...want });
        b = await state(asStaged.wh, 'b');
        expect({ seed, way, ...b }).toEqual({ seed, way, ...a });
        expect(b.staged).toBe(0);
      }
      if (b.dups.length > 0) covered.repeats++;
    }
    // The sweep went through shared prints, a full key table, and repeated keys.
    expect(covered.collide).toBeGreaterThan(3);
    expect(covered.full).toBeGreaterThan(3);
    expect(covered.repeats).toBeGreaterThan(20);
  });

  /**
   * A spelled-out batch against records 0 and 1 (content 0) from before it: its chunks are staged in the
   * order given, each merged as far as it can be before the next is read. Every such batch here ends
   * alike: record 0 back to its version before the batch, record 1 updated by `w1`, record 2 inserted by
   * `w2`, and only record 1's old version in history. Returns the counts and the duplicates.
   */
  async function spelledOut(rows: Row[], chunks: Row[][], w1: Row, w2: Row) {
    const before = [recordRow('p', 2, 0, 0), recordRow('p', 3, 1, 0)];
    const order = chunks.map((c) => (c[0] as Row).prov.rowNumber).sort((a, b) => a - b);
    const s: Scenario = { before, batch: rows, chunks, order, collide: false, index: {} };
    await reset(asStaged.wh);
    await loadWhole(asStaged.wh, 'p', before);
    const { timings: _, ...counts } = await loadAsStaged(asStaged.wh, 'b', s, true);
    const st = await state(asStaged.wh, 'b');
    const key = (k: number) => recordRow('x', 2, k, 0).key;
    const rec = (k: number) => st.main.find((m: Record<string, unknown>) => m.record_key === key(k));
    expect(rec(0)).toMatchObject({ version: 1, batch_id: 'p', source_row: 2, content_hash: before[0]?.hash });
    expect(rec(1)).toMatchObject({ version: 2, batch_id: 'b', source_row: w1.prov.rowNumber, content_hash: w1.hash });
    expect(rec(2)).toMatchObject({ version: 1, batch_id: 'b', source_row: w2.prov.rowNumber, content_hash: w2.hash });
    expect(st.history).toEqual([
      {
        record_key: key(1),
        version: 1,
        content_hash: before[1]?.hash,
        batch_id: 'p',
        source_row: 3,
        superseded_by_batch: 'b',
      },
    ]);
    return { counts, dups: st.dups };
  }

  it('each way a repeat takes the place of a first row merged before it was seen, spelled out', async () => {
    // Rows 2–4 are staged and merged before rows 5–7, which repeat their keys, are read. (PGlite merges
    // everything at the end, so there the first rows wait for their repeats: the outcome must be the same.)
    const rows = [
      recordRow('b', 2, 0, 1), // record 0: updated at once (the old version to history); loses to row 5
      recordRow('b', 3, 1, 0), // record 1: unchanged at once; loses to row 7
      recordRow('b', 4, 2, 0), // record 2: new, inserted at once; loses to row 6
      recordRow('b', 5, 0, 0), // record 0: wins with the content before the batch → unchanged after all
      recordRow('b', 6, 2, 1), // record 2: wins over the row that inserted it → inserted, with this content
      recordRow('b', 7, 1, 1), // record 1: wins over a row that found it unchanged → updated
    ];
    const { counts, dups } = await spelledOut(
      rows,
      [rows.slice(0, 3), rows.slice(3, 6)],
      rows[5] as Row,
      rows[4] as Row,
    );
    expect(counts).toEqual({ inserted: 1, updated: 1, unchanged: 1, duplicate: 3, duplicateWarnings: 3 });
    expect(dups).toEqual([
      { row_number: 2, winner_row: 5, differs: true },
      { row_number: 3, winner_row: 7, differs: true },
      { row_number: 4, winner_row: 6, differs: true },
    ]);
  });

  it('a first row whose repeat is seen before its range merges waits for the end with it, chunks out of order', async () => {
    // The chunks are staged in the order rows 4–5, rows 2–3, rows 6–8: row 2 repeats row 5's key before
    // row 5's range is merged, so row 5 waits; rows 3 and 4 merge at once.
    const rows = [
      recordRow('b', 2, 1, 2), // record 1: a repeat (row 5 came first); loses to row 8
      recordRow('b', 3, 2, 0), // record 2: new, inserted at once; loses to row 7
      recordRow('b', 4, 0, 1), // record 0: updated at once (the old version to history); loses to row 6
      recordRow('b', 5, 1, 0), // record 1: first, but repeated before its range merges: waits; loses to row 8
      recordRow('b', 6, 0, 0), // record 0: wins with the content before the batch → unchanged after all
      recordRow('b', 7, 2, 1), // record 2: wins over the row that inserted it → inserted, with this content
      recordRow('b', 8, 1, 1), // record 1: wins among rows none of which was merged → updated
    ];
    const chunks = [rows.slice(2, 4), rows.slice(0, 2), rows.slice(4, 7)];
    const { counts, dups } = await spelledOut(rows, chunks, rows[6] as Row, rows[5] as Row);
    expect(counts).toEqual({ inserted: 1, updated: 1, unchanged: 1, duplicate: 4, duplicateWarnings: 4 });
    expect(dups).toEqual([
      { row_number: 2, winner_row: 8, differs: true },
      { row_number: 3, winner_row: 7, differs: true },
      { row_number: 4, winner_row: 6, differs: true },
      { row_number: 5, winner_row: 8, differs: true },
    ]);
  });

  it('aborted, it leaves the catalog table as it was and the staged rows where they were', async () => {
    await reset(asStaged.wh);
    await loadWhole(asStaged.wh, 'p', [recordRow('p', 2, 0, 0)]);
    const before = await state(asStaged.wh, 'p');
    await createBatch(asStaged.wh, { id: 'b', file: 'f.xlsx', sheet: 'S1', catalog: catalog.id, county: '230102' });
    const merge = new MergeAsStaged(asStaged.wh, catalog, 'b', { chunkRows: 2, minChunkRows: 1 });
    const keys = new BatchKeyIndex();
    const rows = [recordRow('b', 2, 0, 1), recordRow('b', 3, 1, 0), recordRow('b', 4, 1, 1), recordRow('b', 5, 2, 0)];
    merge.noteRepeats(keys.add(keyPrints(rows)));
    await stageRows(asStaged.wh, catalog, info('b'), rows);
    merge.stagedUpTo(5);
    await merge.abort();
    const after = await state(asStaged.wh, 'p');
    expect(after.main).toEqual(before.main);
    expect(after.history).toEqual([]);
    expect(after.staged).toBe(4);
    const chunks = await asStaged.wh.knex.raw(`SELECT count(*)::int AS n FROM merge_chunks WHERE batch_id = 'b'`);
    expect(chunks.rows[0].n).toBe(0);
  });
});

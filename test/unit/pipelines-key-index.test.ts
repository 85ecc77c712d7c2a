import { describe, expect, it } from 'vitest';
import { BatchKeyIndex, keyPrint, keyPrints } from '../../pipelines/key-index.js';
import type { Row } from '../../src/types.js';

/** What the index must answer, from a plain Map: the first row of each print, and no new print once full. */
function reference(batches: Int32Array[], maxSlots: number) {
  const owner = new Map<number, number>();
  const cap = Math.ceil((maxSlots * 3) / 4);
  return batches.map((prints) => {
    const out = { later: [] as number[], early: [] as number[] };
    for (let i = 0; i < prints.length; i += 2) {
      const row = prints[i] as number;
      const print = prints[i + 1] as number;
      const first = owner.get(print);
      if (first !== undefined) {
        out.later.push(row);
        out.early.push(first);
      } else if (owner.size >= cap) {
        out.later.push(row);
        out.early.push(0);
      } else owner.set(print, row);
    }
    return out;
  });
}

describe('BatchKeyIndex', () => {
  it('reports each row whose print came before, with the row that brought it first, as a Map would', () => {
    let seed = 7;
    const rnd = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    for (const [maxSlots, distinct] of [
      [1 << 22, 5000],
      [1 << 22, 50],
      [64, 1000],
      [4, 10],
    ] as const) {
      // Rows in chunks handled out of order; prints drawn from `distinct` values (some far apart in bits).
      const chunks: Int32Array[] = [];
      let row = 2;
      for (let c = 0; c < 40; c++) {
        const n = 1 + Math.floor(rnd() * 200);
        const chunk = new Int32Array(n * 2);
        for (let i = 0; i < n; i++) {
          chunk[2 * i] = row++;
          chunk[2 * i + 1] = Math.floor(rnd() * distinct) * 0x9e3779b1;
        }
        chunks.push(chunk);
      }
      chunks.sort(() => rnd() - 0.5);
      const index = new BatchKeyIndex({ initialSlots: 4, maxSlots });
      const got = chunks.map((c) => index.add(c));
      expect(got).toEqual(reference(chunks, maxSlots));
      expect(index.full).toBe(maxSlots < distinct);
    }
  });

  it('prints keys of keyed rows only, in row order; equal keys print alike', () => {
    const row = (n: number, key?: string) =>
      ({ prov: { batchId: 'b', file: 'f', rowNumber: n }, cells: [], values: {}, issues: [], key }) as Row;
    const p = keyPrints([row(2, 'A|1'), row(3), row(4, 'B|2'), row(5, 'A|1')]);
    expect(Array.from(p)).toEqual([2, keyPrint('A|1'), 4, keyPrint('B|2'), 5, keyPrint('A|1')]);
    expect(keyPrint('A|1')).not.toBe(keyPrint('A|2'));
  });
});

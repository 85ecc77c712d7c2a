import { describe, expect, it } from 'vitest';
import { makeCleaner } from '../../pipelines/clean.js';
import type { CellValue, Row } from '../../src/types.js';
import { goodPenalty, makeCtx, PENALTY_COLUMNS, rng, rowOf } from './stage-context.js';

describe('clean: values objects', () => {
  it('hold the filled fields only, in catalog order, however many sets of filled fields a file has', () => {
    // clean builds each set of filled fields with its own constructor, up to a limit; past it, one by one.
    const random = rng(5);
    const good = goodPenalty();
    const rows: Row[] = Array.from({ length: 1500 }, (_, i) => {
      const cells: Record<string, CellValue> = {};
      for (const [field, cell] of Object.entries(good)) if (random() < 0.5) cells[field] = cell;
      return rowOf(PENALTY_COLUMNS, cells, i + 2);
    });
    const ctx = makeCtx('admin-penalty', PENALTY_COLUMNS);
    makeCleaner(ctx)(rows);
    const shapes = new Set(rows.map((r) => Object.keys(r.values).join(',')));
    expect(shapes.size).toBeGreaterThan(600);
    const order = new Map(ctx.catalog.fields.map((f, i) => [f.name, i] as const));
    for (const row of rows) {
      const alone = rowOf(PENALTY_COLUMNS, {}, row.prov.rowNumber);
      alone.cells = row.cells;
      makeCleaner(makeCtx('admin-penalty', PENALTY_COLUMNS))([alone]);
      expect(Object.entries(row.values)).toEqual(Object.entries(alone.values));
      expect(row.issues).toEqual(alone.issues);
      const keys = Object.keys(row.values).map((k) => order.get(k) as number);
      expect(keys).toEqual([...keys].sort((a, b) => a - b));
      for (const [k, v] of Object.entries(row.values)) expect(v, k).not.toBeUndefined();
    }
  });
});

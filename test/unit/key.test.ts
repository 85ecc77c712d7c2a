import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { docNumberKey, nameMatchKey } from '../../pipelines/key.js';
import { makePipeline } from '../../pipelines/stages.js';
import type { Row } from '../../src/types.js';
import { CODES, goodPenalty, makeCtx, PENALTY_COLUMNS, rowOf } from './stage-context.js';

const ctx = makeCtx('admin-penalty', PENALTY_COLUMNS);

describe('match keys', () => {
  it('unifies bracket styles, widths and spaces in names', () => {
    const k = nameMatchKey('集贤县顺达运输有限公司(分公司)');
    expect(nameMatchKey('集贤县顺达运输有限公司（分公司）')).toBe(k);
    expect(nameMatchKey(' 集贤县 顺达运输有限公司【分公司】')).toBe(k);
    expect(nameMatchKey('集贤县顺达运输有限公司分公司')).not.toBe(k);
  });

  it('unifies decision numbers written with any bracket and case', () => {
    const k = docNumberKey('集交罚〔2019〕第0123号');
    for (const s of [
      '集交罚[2019]第0123号',
      '集交罚【2019】第 0123 号',
      '集交罚（2019）第０１２３号',
      '集交罚［2019］第0123号',
    ]) {
      expect(docNumberKey(s), s).toBe(k);
    }
    expect(docNumberKey('jjf(2019)1')).toBe('JJF(2019)1');
    expect(docNumberKey('集交罚〔2019〕第0124号')).not.toBe(k);
  });
});

describe('key stage', () => {
  const run = (cells: Record<string, unknown>): Row => {
    const row = rowOf(PENALTY_COLUMNS, cells as never);
    makePipeline(ctx)([row]);
    return row;
  };

  it('keys by decision number, authority USCC and subject USCC', () => {
    const row = run(goodPenalty());
    expect(row.issues).toEqual([]);
    expect(row.key).toBe(['集交罚(2019)第0123号', CODES.countyAuthority, `U:${CODES.company}`].join('\u001f'));
    expect(row.hash).toMatch(/^[0-9a-f]{40}$/);
  });

  it('falls back to the ID number, then the name', () => {
    const person = run({
      ...goodPenalty(),
      subject_name: '李四',
      subject_category: '自然人',
      subject_uscc: null,
      legal_rep_name: null,
      subject_id_type: '身份证',
      subject_id_no: CODES.residentId,
    });
    expect(person.key?.split('\u001f')[2]).toBe(`I:${CODES.residentId}`);
    // an organisation without a USCC column in this file: keyed by its name
    const spec = PENALTY_COLUMNS.filter((c) => c[1] !== 'subject_uscc');
    const c2 = makeCtx('admin-penalty', spec);
    const cells = { ...goodPenalty(), subject_category: '个体工商户', subject_name: '集贤县老王（汽修）' };
    const row = rowOf(spec, cells);
    makePipeline(c2)([row]);
    expect(row.issues).toEqual([]);
    expect(row.key?.split('\u001f')[2]).toBe('N:集贤县老王(汽修)');
  });

  it('gives equal keys and hashes to the same record spelled differently, and a new hash to changed content', () => {
    const a = run(goodPenalty());
    const b = run({
      ...goodPenalty(),
      decision_doc_no: '集交罚[2019]第0123号',
      decision_date: '2019/10/10',
      fine_amount_wan_yuan: '2000元',
    });
    expect(b.key).toBe(a.key);
    // the decision number is stored as written, so the content differs
    expect(b.hash).not.toBe(a.hash);
    const c = run({ ...goodPenalty(), decision_date: '2019年10月10日', fine_amount_wan_yuan: '2,000元' });
    expect(c.hash).toBe(a.hash);
    const d = run({ ...goodPenalty(), penalty_content: '罚款2000元。' });
    expect(d.key).toBe(a.key);
    expect(d.hash).not.toBe(a.hash);
  });

  it('hashes every catalog field in catalog order (sha1 of the canonical join)', () => {
    const row = run(goodPenalty());
    const joined = ctx.catalog.fields
      .map((f) => {
        const v = row.values[f.name];
        return v === undefined ? '' : Array.isArray(v) ? v.join('\u001e') : String(v);
      })
      .join('\u001f');
    expect(row.hash).toBe(createHash('sha1').update(joined).digest('hex'));
  });

  it('leaves rejected rows without a key', () => {
    const row = run({ ...goodPenalty(), decision_date: '2019-13-01' });
    expect(row.key).toBeUndefined();
    expect(row.hash).toBeUndefined();
  });
});

describe('makePipeline', () => {
  it('runs the four stages on a chunk and times each', () => {
    const rows = [
      rowOf(PENALTY_COLUMNS, goodPenalty(), 2),
      rowOf(PENALTY_COLUMNS, { ...goodPenalty(), subject_uscc: '3.60426E+17' }, 3),
    ];
    const r = makePipeline(ctx)(rows);
    expect(Object.keys(r.stageMs)).toEqual(['clean', 'normalize', 'validate', 'key']);
    expect(r.counts.clean).toMatchObject({ rows: 2, rejected: 1 });
    expect(r.rows[0]?.key).toBeDefined();
    expect(r.rows[1]?.issues.map((i) => i.code)).toEqual(['ID_PRECISION_LOST']);
  });
});

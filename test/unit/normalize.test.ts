import { describe, expect, it } from 'vitest';
import { makeCleaner } from '../../pipelines/clean.js';
import { makeNormalizer } from '../../pipelines/normalize.js';
import type { CellValue } from '../../src/types.js';
import { CODES, type ColumnSpec, codes, goodPenalty, makeCtx, PENALTY_COLUMNS, rowOf } from './stage-context.js';

const SPEC: ColumnSpec[] = [...PENALTY_COLUMNS, ['法定代表人证件类型', 'legal_rep_id_type']];

function normalizeOne(cells: Record<string, CellValue>) {
  const ctx = makeCtx('admin-penalty', SPEC);
  const row = rowOf(SPEC, cells);
  makeCleaner(ctx)([row]);
  const report = makeNormalizer(ctx)([row]);
  return { row, report };
}

describe('normalize: code tables', () => {
  it('maps Chinese words and local numeric codes to one canonical value', () => {
    const cases: Array<[string, string]> = [
      ['法人及非法人组织', '法人及非法人组织'],
      ['02', '法人及非法人组织'],
      ['企业', '法人及非法人组织'],
      ['法人', '法人及非法人组织'],
    ];
    for (const [cell, canonical] of cases) {
      const { row } = normalizeOne({ ...goodPenalty(), subject_category: cell });
      expect(row.issues, cell).toEqual([]);
      expect(row.values.subject_category, cell).toBe(canonical);
    }
    const p = normalizeOne({ ...goodPenalty(), subject_category: '个体户', subject_uscc: CODES.individual });
    expect(p.row.values.subject_category).toBe('个体工商户');
    expect(p.row.issues).toEqual([]);
  });

  it('accepts several penalty types per cell, from the pre- and post-2021 lists', () => {
    const cases: Array<[string, string[]]> = [
      ['警告、罚款', ['警告', '罚款']],
      ['罚款；没收违法所得、没收非法财物', ['罚款', '没收违法所得、没收非法财物']],
      ['暂扣或者吊销许可证、暂扣或者吊销执照', ['暂扣或者吊销许可证、暂扣或者吊销执照']],
      ['罚款/暂扣许可证件, 警告', ['罚款', '暂扣许可证件', '警告']],
      ['010101;010103', ['警告', '罚款']],
    ];
    for (const [cell, values] of cases) {
      const { row } = normalizeOne({ ...goodPenalty(), penalty_types: cell });
      expect(
        row.issues.filter((i) => i.severity === 'error'),
        cell,
      ).toEqual([]);
      expect(row.values.penalty_types, cell).toEqual(values);
    }
  });

  it('keeps free text with the table’s prefix (其他-…)', () => {
    const { row } = normalizeOne({ ...goodPenalty(), legal_rep_id_type: '其他-军官证' });
    expect(row.issues).toEqual([]);
    expect(row.values.legal_rep_id_type).toBe('其他-军官证');
  });

  it('rejects unknown values and lists the allowed ones', () => {
    const { row } = normalizeOne({
      ...goodPenalty(),
      subject_category: '事业单位法人A',
      penalty_types: '罚款、责令改正',
    });
    expect(codes(row)).toEqual(['CODE_UNKNOWN', 'CODE_UNKNOWN']);
    const cat = row.issues.find((i) => i.field === 'subject_category');
    expect(cat).toMatchObject({ header: '行政相对人类别', value: '事业单位法人A', severity: 'error' });
    expect(cat?.zh).toContain('法人及非法人组织、自然人、个体工商户');
    const pt = row.issues.find((i) => i.field === 'penalty_types');
    expect(pt?.value).toBe('责令改正');
    expect(pt?.zh).toContain('限制从业');
  });
});

describe('normalize: subject codes and category', () => {
  it('rejects a resident ID in the USCC column', () => {
    const { row } = normalizeOne({ ...goodPenalty(), subject_uscc: CODES.residentId });
    expect(codes(row)).toEqual(['WRONG_COLUMN']);
    expect(row.issues[0]?.zh).toContain('居民身份证号码');
    expect(row.issues[0]?.zh).toContain('证件号码');
  });

  it('rejects an org code in the USCC column and a USCC in the org-code column', () => {
    expect(codes(normalizeOne({ ...goodPenalty(), subject_uscc: '59467239-9' }).row)).toEqual(['WRONG_COLUMN']);
    const r = normalizeOne({ ...goodPenalty(), subject_org_code: CODES.company });
    expect(codes(r.row)).toEqual(['WRONG_COLUMN']);
    expect(r.row.issues[0]?.field).toBe('subject_org_code');
  });

  it('rejects a 自然人 with a USCC', () => {
    const { row } = normalizeOne({
      ...goodPenalty(),
      subject_category: '自然人',
      subject_id_type: '身份证',
      subject_id_no: CODES.residentId,
    });
    expect(codes(row)).toEqual(['SUBJECT_CATEGORY_MISMATCH']);
  });

  it('warns when a 92… USCC (个体工商户) has another category, and the reverse', () => {
    const a = normalizeOne({ ...goodPenalty(), subject_uscc: CODES.individual });
    expect(a.row.issues.map((i) => [i.code, i.severity])).toEqual([['SUBJECT_CATEGORY_SUSPECT', 'warning']]);
    const b = normalizeOne({ ...goodPenalty(), subject_category: '个体工商户' });
    expect(codes(b.row)).toEqual(['SUBJECT_CATEGORY_SUSPECT']);
    expect(a.report.counts.warnings).toBe(1);
  });

  it('does not look at rows clean rejected', () => {
    const { row } = normalizeOne({ ...goodPenalty(), subject_category: '???', decision_date: '2019-13-01' });
    expect(codes(row)).toEqual(['DATE_INVALID']);
  });
});

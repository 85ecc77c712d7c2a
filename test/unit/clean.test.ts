import { describe, expect, it } from 'vitest';
import { makeCleaner } from '../../pipelines/clean.js';
import type { CellValue } from '../../src/types.js';
import { CODES, type ColumnSpec, codes, goodPenalty, makeCtx, PENALTY_COLUMNS, rowOf } from './stage-context.js';

function cleanOne(cells: Record<string, CellValue>, spec: ColumnSpec[] = PENALTY_COLUMNS, opts = {}) {
  const ctx = makeCtx('admin-penalty', spec, opts);
  const row = rowOf(spec, cells);
  const report = makeCleaner(ctx)([row]);
  return { row, report };
}

describe('clean: a good county row', () => {
  it('produces typed values and no issues', () => {
    const { row, report } = cleanOne(goodPenalty());
    expect(row.issues).toEqual([]);
    expect(row.values).toMatchObject({
      subject_name: '集贤县顺达运输有限公司',
      subject_uscc: CODES.company,
      decision_doc_no: '集交罚〔2019〕第0123号',
      penalty_types: ['罚款'],
      fine_amount_wan_yuan: 0.2,
      decision_date: '2019-10-10',
      penalty_valid_until: '2019-10-17',
      publication_end_date: '2020-10-17',
    });
    expect(row.values).not.toHaveProperty('subject_org_code');
    expect(report.counts).toMatchObject({ rows: 1, rejected: 0 });
  });
});

describe('clean: placeholders and whitespace', () => {
  it('maps every placeholder to empty', () => {
    for (const p of ['/', '无', '空', '-', '--', '—', 'null', 'NULL', 'N/A', '暂无', ' ', '\u3000', '\u200b']) {
      const { row } = cleanOne({ ...goodPenalty(), legal_rep_name: p, subject_org_code: p, publication_end_date: p });
      expect(row.issues, p).toEqual([]);
      expect(row.values, p).not.toHaveProperty('legal_rep_name');
      expect(row.values, p).not.toHaveProperty('subject_org_code');
      expect(row.values, p).not.toHaveProperty('publication_end_date');
    }
  });

  it('treats 0 as empty only in code columns, and all-zero codes as empty', () => {
    const { row } = cleanOne({
      ...goodPenalty(),
      subject_org_code: '0',
      legal_rep_name: '0',
      subject_uscc: '00000000000000000X',
    });
    expect(row.values.legal_rep_name).toBe('0');
    expect(row.values).not.toHaveProperty('subject_org_code');
    expect(row.values).not.toHaveProperty('subject_uscc');
    const z = cleanOne({ ...goodPenalty(), source_unit_uscc: '000000000000000000' });
    expect(z.row.values).not.toHaveProperty('source_unit_uscc');
  });

  it('trims text (incl. U+3000 and zero-width) but keeps brackets and inner content', () => {
    const { row } = cleanOne({ ...goodPenalty(), subject_name: '\u3000集贤县顺达运输有限公司（分公司）\u200b \n' });
    expect(row.values.subject_name).toBe('集贤县顺达运输有限公司（分公司）');
  });
});

describe('clean: code columns', () => {
  it('applies NFKC, removes spaces/hyphens, upper-cases', () => {
    const { row } = cleanOne({
      ...goodPenalty(),
      subject_uscc: '９１２３０５２１ＭＡ１ＣＤ４Ｅ５１６',
      subject_org_code: '59467239－9',
      source_unit_uscc: ' 11 230521\tMB1D04566u\u200b',
      subject_id_no: '11010519491231002x',
    });
    expect(row.issues).toEqual([]);
    expect(row.values.subject_uscc).toBe(CODES.company);
    expect(row.values.subject_org_code).toBe('594672399');
    expect(row.values.source_unit_uscc).toBe(CODES.countyAuthority);
    expect(row.values.subject_id_no).toBe('11010519491231002X');
  });

  it('rejects IDs Excel turned into numbers or scientific notation (ID_PRECISION_LOST)', () => {
    for (const cell of [Number('360426199101010071'), '3.60426E+17', '3.60426e+17', '360426199101010000']) {
      const { row } = cleanOne({ ...goodPenalty(), subject_id_no: cell });
      expect(codes(row), String(cell)).toEqual(['ID_PRECISION_LOST']);
      const issue = row.issues[0];
      expect(issue).toMatchObject({ severity: 'error', field: 'subject_id_no', header: '证件号码', value: cell });
      expect(issue?.zh).toContain('文本');
      expect(row.values).not.toHaveProperty('subject_id_no');
    }
  });

  it('keeps a genuine 18-digit ID that happens to end in 000', () => {
    const { row } = cleanOne({ ...goodPenalty(), subject_id_no: '230521198503154000' });
    expect(row.issues).toEqual([]);
    expect(row.values.subject_id_no).toBe('230521198503154000');
  });

  it('converts a short number cell to text with a warning about lost leading zeros', () => {
    const { row } = cleanOne({ ...goodPenalty(), subject_org_code: 59467239 });
    expect(row.values.subject_org_code).toBe('59467239');
    expect(row.issues.map((i) => [i.code, i.severity])).toEqual([['CODE_STORED_AS_NUMBER', 'warning']]);
    // a 15-digit registration number survives Excel intact (15 significant digits) and has no fixed format
    const spec: ColumnSpec[] = [...PENALTY_COLUMNS, ['工商注册号', 'subject_business_reg_no']];
    const ok = cleanOne({ ...goodPenalty(), subject_business_reg_no: 230521000012345 }, spec);
    expect(ok.row.issues).toEqual([]);
    expect(ok.row.values.subject_business_reg_no).toBe('230521000012345');
  });
});

describe('clean: dates', () => {
  const cases: Array<[CellValue, string | undefined]> = [
    ['2019-10-10', '2019-10-10'],
    ['2019/10/10', '2019-10-10'],
    ['2019/9/1', '2019-09-01'],
    ['20191010', '2019-10-10'],
    ['2019年10月10日', '2019-10-10'],
    ['2019.10.10', '2019-10-10'],
    ['2019-10-10 00:00:00', '2019-10-10'],
    ['２０１９／１０／１０', '2019-10-10'],
    ['1568180781000', '2019-09-11'],
    [1568180781000, '2019-09-11'],
    [43709, '2019-09-01'],
    ['43709', '2019-09-01'],
    [43709.5, '2019-09-01'],
    [20191010, '2019-10-10'],
    [new Date(Date.UTC(2019, 9, 10)), '2019-10-10'],
    ['长期', '2099-12-31'],
    ['永久', '2099-12-31'],
    ['无期限', '2099-12-31'],
    ['2099/12/31', '2099-12-31'],
    ['1899-12-31', undefined],
    ['1900-01-00', undefined],
    ['1899-12-31 12:00:00', undefined],
    [0, undefined],
  ];
  for (const [cell, expected] of cases) {
    it(`${String(cell instanceof Date ? cell.toISOString() : cell)} → ${expected ?? 'empty'}`, () => {
      const { row } = cleanOne({ ...goodPenalty(), penalty_valid_until: cell });
      expect(row.issues).toEqual([]);
      expect(row.values.penalty_valid_until).toBe(expected);
    });
  }

  it('rejects impossible and unreadable dates with a message naming the header and the format', () => {
    const { row } = cleanOne({
      ...goodPenalty(),
      decision_date: '2019/13/45',
      penalty_valid_until: '2019-02-30',
      publication_end_date: '明年十月',
    });
    expect(codes(row)).toEqual(['DATE_INVALID', 'DATE_INVALID', 'DATE_UNPARSEABLE']);
    const first = row.issues.find((i) => i.field === 'decision_date');
    expect(first?.zh).toContain('‘处罚决定日期’列的值“2019/13/45”不是有效日期');
    expect(first?.zh).toContain('YYYY/MM/DD');
    expect(row.issues.find((i) => i.field === 'penalty_valid_until')?.zh).toContain('2 月没有 30 日');
  });
});

describe('clean: money', () => {
  it('reads 万元 amounts, units in the cell and commas', () => {
    const cases: Array<[CellValue, number]> = [
      ['0.2', 0.2],
      [0.2, 0.2],
      ['2,000元', 0.2],
      ['0.2万元', 0.2],
      ['1.5万', 1.5],
      ['1234.56元', 0.123456],
      ['0', 0],
    ];
    for (const [cell, wan] of cases) {
      const { row } = cleanOne({ ...goodPenalty(), penalty_content: '罚款', fine_amount_wan_yuan: cell });
      expect(row.issues, String(cell)).toEqual([]);
      expect(row.values.fine_amount_wan_yuan, String(cell)).toBe(wan);
    }
  });

  it('converts a 元 column exactly (no float drift)', () => {
    const spec: ColumnSpec[] = PENALTY_COLUMNS.map((c) =>
      c[1] === 'fine_amount_wan_yuan' ? ['罚款金额（元）', 'fine_amount_wan_yuan', '元'] : c,
    );
    for (const [cell, wan] of [
      ['2000', 0.2],
      [2000, 0.2],
      ['1234.56', 0.123456],
      [0.07, 0.000007],
      ['300000', 30],
    ] as Array<[CellValue, number]>) {
      const { row } = cleanOne({ ...goodPenalty(), penalty_content: '罚款', fine_amount_wan_yuan: cell }, spec);
      expect(row.issues, String(cell)).toEqual([]);
      expect(row.values.fine_amount_wan_yuan, String(cell)).toBe(wan);
    }
  });

  it('rejects Chinese numerals and negative amounts', () => {
    const a = cleanOne({ ...goodPenalty(), fine_amount_wan_yuan: '贰仟元' });
    expect(codes(a.row)).toEqual(['MONEY_UNPARSEABLE']);
    expect(a.row.issues[0]?.zh).toContain('阿拉伯数字');
    expect(codes(cleanOne({ ...goodPenalty(), fine_amount_wan_yuan: '-0.2' }).row)).toEqual(['MONEY_NEGATIVE']);
    expect(codes(cleanOne({ ...goodPenalty(), fine_amount_wan_yuan: '约两千' }).row)).toEqual(['MONEY_UNPARSEABLE']);
  });

  it('warns when a 万元 value equals the 元 amount of the penalty content', () => {
    const { row } = cleanOne({ ...goodPenalty(), fine_amount_wan_yuan: '2000' });
    expect(row.issues.map((i) => [i.code, i.severity])).toEqual([['MONEY_UNIT_SUSPECT', 'warning']]);
    expect(row.values.fine_amount_wan_yuan).toBe(2000); // kept as written; a warning does not reject
    expect(row.issues[0]?.zh).toContain('罚款2000元'.slice(2));
  });

  it('warns on ≥ 100 万元 unless the content confirms it, and never when the cell says 元', () => {
    expect(codes(cleanOne({ ...goodPenalty(), penalty_content: '罚款', fine_amount_wan_yuan: '500' }).row)).toEqual([
      'MONEY_UNIT_SUSPECT',
    ]);
    expect(
      cleanOne({ ...goodPenalty(), penalty_content: '罚款500万元', fine_amount_wan_yuan: '500' }).row.issues,
    ).toEqual([]);
    expect(cleanOne({ ...goodPenalty(), penalty_content: '罚款', fine_amount_wan_yuan: '3' }).row.issues).toEqual([]);
    expect(cleanOne({ ...goodPenalty(), fine_amount_wan_yuan: '2000元' }).row.issues).toEqual([]);
  });
});

describe('clean: lists, several columns, defaults, encoding, all problems at once', () => {
  it('splits penalty types and concatenates the old two category columns', () => {
    const spec: ColumnSpec[] = [
      ...PENALTY_COLUMNS.filter((c) => c[1] !== 'penalty_types'),
      ['处罚类别1', 'penalty_types'],
      ['处罚类别2', 'penalty_types'],
    ];
    const row = rowOf(spec, goodPenalty());
    row.cells[spec.length - 2] = '警告、罚款';
    row.cells[spec.length - 1] = '没收违法所得；/';
    makeCleaner(makeCtx('admin-penalty', spec))([row]);
    expect(row.issues).toEqual([]);
    expect(row.values.penalty_types).toEqual(['警告', '罚款', '没收违法所得']);
  });

  it('fills fields absent from the file from the county defaults', () => {
    const spec = PENALTY_COLUMNS.filter((c) => !c[1].startsWith('source_unit'));
    const { row } = cleanOne(goodPenalty(), spec, {
      defaults: { source_unit: '集贤县交通运输局', source_unit_uscc: '11230521MB1D04566u' },
    });
    expect(row.issues).toEqual([]);
    expect(row.values.source_unit).toBe('集贤县交通运输局');
    expect(row.values.source_unit_uscc).toBe(CODES.countyAuthority);
  });

  it('rejects mis-decoded text', () => {
    const { row } = cleanOne({ ...goodPenalty(), subject_name: '集贤县\uFFFD\uFFFD运输有限公司' });
    expect(codes(row)).toEqual(['ENCODING_DAMAGED']);
    expect(row.issues[0]?.zh).toContain('UTF-8');
  });

  it('collects every cell problem of a row', () => {
    const { row, report } = cleanOne({
      ...goodPenalty(),
      subject_id_no: '3.60426E+17',
      decision_date: '2019-02-29',
      fine_amount_wan_yuan: '两千元',
    });
    expect(codes(row)).toEqual(['DATE_INVALID', 'ID_PRECISION_LOST', 'MONEY_UNPARSEABLE']);
    expect(report.counts.rejected).toBe(1);
  });

  it('leaves a row the reader already rejected untouched', () => {
    const ctx = makeCtx('admin-penalty', PENALTY_COLUMNS);
    const row = rowOf(PENALTY_COLUMNS, goodPenalty());
    row.issues.push({ code: 'CSV_RAGGED_ROW', severity: 'error', zh: '列数不符', en: 'ragged' });
    makeCleaner(ctx)([row]);
    expect(row.values).toEqual({});
    expect(codes(row)).toEqual(['CSV_RAGGED_ROW']);
  });
});

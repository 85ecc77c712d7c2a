import { describe, expect, it } from 'vitest';
import { makeCleaner } from '../../pipelines/clean.js';
import { makeNormalizer } from '../../pipelines/normalize.js';
import { countyCovers, makeValidator } from '../../pipelines/validate.js';
import type { CellValue, Issue } from '../../src/types.js';
import { CODES, type ColumnSpec, codes, goodPenalty, makeCtx, PENALTY_COLUMNS, rowOf } from './stage-context.js';

function validateOne(
  cells: Record<string, CellValue>,
  spec: ColumnSpec[] = PENALTY_COLUMNS,
  opts: { county?: string; today?: string } = {},
) {
  const ctx = makeCtx('admin-penalty', spec, opts);
  const row = rowOf(spec, cells);
  makeCleaner(ctx)([row]);
  makeNormalizer(ctx)([row]);
  const report = makeValidator(ctx)([row]);
  return { row, report };
}

const issue = (row: { issues: Issue[] }, code: string, field?: string) =>
  row.issues.find((i) => i.code === code && (field === undefined || i.field === field));

describe('validate: a good row', () => {
  it('has no issues', () => {
    const { row, report } = validateOne(goodPenalty());
    expect(row.issues).toEqual([]);
    expect(report.counts).toMatchObject({ rows: 1, rejected: 0, warnings: 0 });
  });
});

describe('validate: required items', () => {
  it('names the header to fill, or the standard column when the file lacks it', () => {
    const { row } = validateOne({ ...goodPenalty(), violation_type: '/' });
    expect(codes(row)).toEqual(['REQUIRED_MISSING']);
    expect(row.issues[0]).toMatchObject({ field: 'violation_type', header: '违法行为类型', severity: 'error' });
    expect(row.issues[0]?.zh).toContain('请在‘违法行为类型’列填写');

    const spec = PENALTY_COLUMNS.filter((c) => c[1] !== 'legal_basis');
    const absent = validateOne(goodPenalty(), spec).row;
    expect(codes(absent)).toEqual(['REQUIRED_MISSING']);
    expect(absent.issues[0]?.header).toBeUndefined();
    expect(absent.issues[0]?.zh).toContain('CF_YJ');
  });

  it('says why a conditional item is required', () => {
    const { row } = validateOne({ ...goodPenalty(), fine_amount_wan_yuan: null });
    expect(codes(row)).toEqual(['REQUIRED_MISSING']);
    expect(row.issues[0]?.field).toBe('fine_amount_wan_yuan');
    expect(row.issues[0]?.zh).toContain('“处罚类别”含“罚款”时必须填写“罚款金额（万元）”');

    const person = validateOne({
      ...goodPenalty(),
      subject_name: '李四',
      subject_category: '自然人',
      subject_uscc: null,
      legal_rep_name: null,
    }).row;
    expect(codes(person)).toEqual(['REQUIRED_MISSING', 'REQUIRED_MISSING']);
    expect(person.issues.map((i) => i.field).sort()).toEqual(['subject_id_no', 'subject_id_type']);
    expect(person.issues[0]?.zh).toContain('“行政相对人类别”为“自然人”时');
  });
});

describe('validate: identifiers and lengths', () => {
  it('rejects a wrong USCC check char and says which one it should be', () => {
    const bad = `${CODES.countyAuthority.slice(0, 17)}A`;
    const { row } = validateOne({ ...goodPenalty(), penalising_authority_uscc: bad });
    expect(codes(row)).toEqual(['USCC_CHECKSUM']);
    expect(row.issues[0]).toMatchObject({ header: '处罚机关统一社会信用代码', value: bad });
    expect(row.issues[0]?.zh).toContain('第 18 位应为“U”');
  });

  it('rejects a USCC of the wrong shape', () => {
    const { row } = validateOne({ ...goodPenalty(), source_unit_uscc: '1123052I' });
    expect(codes(row)).toEqual(['USCC_FORMAT']);
  });

  it('rejects a bad org code and a bad resident ID', () => {
    const org = validateOne({ ...goodPenalty(), subject_org_code: '59467239-8' }).row;
    expect(codes(org)).toEqual(['ORG_CODE_CHECKSUM']);
    const person = validateOne({
      ...goodPenalty(),
      subject_name: '李四',
      subject_category: '自然人',
      subject_uscc: null,
      legal_rep_name: null,
      subject_id_type: '身份证',
      subject_id_no: '230521198503154212',
    }).row;
    expect(codes(person)).toEqual(['ID_NUMBER_INVALID']);
    expect(person.issues[0]?.zh).toContain('校验码不正确');
  });

  it('accepts a natural person with a valid ID', () => {
    const { row } = validateOne({
      ...goodPenalty(),
      subject_name: '李四',
      subject_category: '01',
      subject_uscc: null,
      legal_rep_name: null,
      subject_id_type: '居民身份证',
      subject_id_no: CODES.residentId,
    });
    expect(row.issues).toEqual([]);
  });

  it('rejects text longer than the catalog allows', () => {
    const { row } = validateOne({ ...goodPenalty(), subject_name: '运'.repeat(201) });
    expect(codes(row)).toEqual(['TOO_LONG']);
    expect(row.issues[0]?.zh).toContain('201');
    expect(row.issues[0]?.zh).toContain('200');
  });
});

describe('validate: cross-field rules', () => {
  it('rejects a decision date after today and dates out of order', () => {
    const { row } = validateOne(
      {
        ...goodPenalty(),
        decision_date: '2025-07-01',
        penalty_valid_until: '2025-06-01',
        publication_end_date: '2026-07-01',
      },
      PENALTY_COLUMNS,
      { today: '2025-06-30' },
    );
    expect(codes(row)).toEqual(['DATE_IN_FUTURE', 'DATE_ORDER']);
    expect(issue(row, 'DATE_ORDER')?.zh).toContain('“处罚决定日期”（2025-07-01）晚于“处罚有效期”（2025-06-01）');
  });

  it('accepts the long-term sentinel as a later date', () => {
    const { row } = validateOne({ ...goodPenalty(), penalty_valid_until: '长期' });
    expect(row.issues).toEqual([]);
    expect(row.values.penalty_valid_until).toBe('2099-12-31');
  });

  it('reports every violation of a row at once', () => {
    const { row, report } = validateOne({
      ...goodPenalty(),
      legal_basis: null,
      fine_amount_wan_yuan: null,
      penalising_authority_uscc: `${CODES.countyAuthority.slice(0, 17)}0`,
      decision_date: '2025-07-02',
    });
    expect(codes(row)).toEqual([
      'DATE_IN_FUTURE',
      'DATE_ORDER',
      'DATE_ORDER',
      'REQUIRED_MISSING',
      'REQUIRED_MISSING',
      'USCC_CHECKSUM',
    ]);
    expect(report.counts.rejected).toBe(1);
  });
});

describe('validate: warnings that never reject', () => {
  it('accepts the Fujian pilot codes with a warning', () => {
    const { row } = validateOne({ ...goodPenalty(), subject_uscc: '91350100M0001TGQXM' });
    expect(row.issues.every((i) => i.severity === 'warning')).toBe(true);
    expect(codes(row)).toEqual(['SUBJECT_OUTSIDE_COUNTY', 'USCC_PILOT_CHECKSUM']);
  });

  it('warns when the organisation-code part of a valid USCC fails GB 11714', () => {
    const { row } = validateOne({ ...goodPenalty(), subject_uscc: '911101005JLR20JR60' });
    expect(codes(row)).toEqual(['SUBJECT_OUTSIDE_COUNTY', 'USCC_ORG_CHECK']);
  });

  it('warns about a subject registered outside the batch county, with the division name', () => {
    const out = validateOne({ ...goodPenalty(), subject_uscc: CODES.beijingCompany }).row;
    expect(out.issues.map((i) => [i.code, i.severity])).toEqual([['SUBJECT_OUTSIDE_COUNTY', 'warning']]);
    const other = validateOne({ ...goodPenalty(), subject_uscc: '91230184MA1BUFLT44' }).row;
    expect(codes(other)).toEqual(['SUBJECT_OUTSIDE_COUNTY']);
    expect(other.issues[0]?.zh).toContain('五常市');
    // a city-level batch covers its counties
    expect(validateOne(goodPenalty(), PENALTY_COLUMNS, { county: '230500' }).row.issues).toEqual([]);
  });

  it('decides county coverage from the codes', () => {
    expect(countyCovers('230521', '230521')).toBe(true);
    expect(countyCovers('230521', '230522')).toBe(false);
    expect(countyCovers('230500', '230523')).toBe(true);
    expect(countyCovers('230500', '230184')).toBe(false);
    expect(countyCovers('230521', '230500')).toBe(true); // registered by the city office: undecidable
    expect(countyCovers('230000', '231183')).toBe(true);
  });
});

describe('validate: the licence catalog', () => {
  const LICENSE: ColumnSpec[] = [
    ['行政相对人名称', 'subject_name'],
    ['行政相对人类别', 'subject_category'],
    ['统一社会信用代码', 'subject_uscc'],
    ['法定代表人', 'legal_rep_name'],
    ['行政许可决定文书名称', 'decision_doc_title'],
    ['行政许可决定文书号', 'decision_doc_no'],
    ['许可类别', 'licence_category'],
    ['许可证书名称', 'licence_cert_name'],
    ['许可编号', 'licence_no'],
    ['许可内容', 'licence_content'],
    ['许可决定日期', 'decision_date'],
    ['有效期自', 'valid_from'],
    ['有效期至', 'valid_to'],
    ['许可机关', 'issuing_authority'],
    ['许可机关统一社会信用代码', 'issuing_authority_uscc'],
    ['当前状态', 'status'],
    ['数据来源单位', 'source_unit'],
    ['数据来源单位统一社会信用代码', 'source_unit_uscc'],
  ];
  const good: Record<string, CellValue> = {
    subject_name: '集贤县顺达运输有限公司',
    subject_category: '02',
    subject_uscc: CODES.company,
    legal_rep_name: '王建国',
    decision_doc_title: '道路运输经营许可决定书',
    decision_doc_no: '集交运许〔2019〕15号',
    licence_category: '01',
    licence_cert_name: '道路运输经营许可证',
    licence_no: '黑交运管许可集字230521000123号',
    licence_content: '道路普通货物运输',
    decision_date: 43709,
    valid_from: '2019/9/1',
    valid_to: '长期',
    issuing_authority: '集贤县交通运输局',
    issuing_authority_uscc: CODES.countyAuthority,
    status: 1,
    source_unit: '集贤县交通运输局',
    source_unit_uscc: CODES.countyAuthority,
  };
  const run = (cells: Record<string, CellValue>) => {
    const ctx = makeCtx('admin-license', LICENSE);
    const row = rowOf(LICENSE, cells);
    makeCleaner(ctx)([row]);
    makeNormalizer(ctx)([row]);
    makeValidator(ctx)([row]);
    return row;
  };

  it('accepts a 双鸭山-style licence row with local codes, an Excel serial and 长期', () => {
    const row = run(good);
    expect(row.issues).toEqual([]);
    expect(row.values).toMatchObject({
      subject_category: '法人及非法人组织',
      licence_category: '普通',
      status: '1',
      decision_date: '2019-09-01',
      valid_from: '2019-09-01',
      valid_to: '2099-12-31',
    });
  });

  it('rejects valid_from after valid_to and an unknown status', () => {
    const row = run({ ...good, valid_from: '2020-01-01', valid_to: '2019-12-31', status: '待审' });
    expect(codes(row)).toEqual(['CODE_UNKNOWN']); // normalize rejects first; validate does not run
    const row2 = run({ ...good, valid_from: '2020-01-01', valid_to: '2019-12-31' });
    expect(codes(row2)).toEqual(['DATE_ORDER']);
    expect(row2.issues[0]?.header).toBe('有效期至');
  });
});

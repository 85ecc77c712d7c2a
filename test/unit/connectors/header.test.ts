import { beforeAll, describe, expect, it } from 'vitest';
import { buildHeaderIndex, findHeader, headerKey, matchHeader, unitFromHeader } from '../../../connectors/header.js';
import { loadCatalogs } from '../../../src/catalog/load.js';
import type { Catalog } from '../../../src/catalog/types.js';
import type { CellValue } from '../../../src/types.js';

let catalogs: Catalog[];
beforeAll(() => {
  catalogs = loadCatalogs().list;
});

const fieldsOf = (cols: { field: string }[]) => cols.map((c) => c.field);

describe('headerKey', () => {
  it('strips decorations a clerk adds', () => {
    expect(headerKey('*行政相对人名称')).toBe(headerKey('行政相对人名称'));
    expect(headerKey('★ 处罚机关 ')).toBe('处罚机关');
    expect(headerKey('※处罚机关')).toBe('处罚机关');
    expect(headerKey('行政处罚决定书文号（必填）')).toBe('行政处罚决定书文号');
    expect(headerKey('行政处罚决定书文号(选填)')).toBe('行政处罚决定书文号');
    expect(headerKey('罚款金额\n（万元）')).toBe('罚款金额');
    expect(headerKey('罚款金额(元)')).toBe('罚款金额');
    expect(headerKey('处 罚\u3000机 关\u200b')).toBe('处罚机关');
  });

  it('unifies brackets and width but keeps bracketed content that is not a hint', () => {
    expect(headerKey('行政相对人代码_1（统一社会信用代码）')).toBe('行政相对人代码_1(统一社会信用代码)');
    expect(headerKey('行政相对人代码_1【统一社会信用代码】')).toBe('行政相对人代码_1(统一社会信用代码)');
  });

  it('upper-cases column codes, full-width ones too', () => {
    expect(headerKey('xk_wsh')).toBe('XK_WSH');
    expect(headerKey('ＸＫ＿ＷＳＨ')).toBe('XK_WSH');
  });
});

describe('unitFromHeader', () => {
  it('reads the unit a header states', () => {
    expect(unitFromHeader('罚款金额（元）')).toBe('元');
    expect(unitFromHeader('罚款金额\n（万元）')).toBe('万元');
    expect(unitFromHeader('罚款金额(单位：元)')).toBe('元');
    expect(unitFromHeader('罚款金额元')).toBe('元');
    expect(unitFromHeader('罚款金额')).toBeUndefined();
    expect(unitFromHeader('行政相对人名称')).toBeUndefined();
  });
});

describe('buildHeaderIndex', () => {
  it('indexes titles, column codes and aliases and is computed once per catalog', () => {
    const penalty = catalogs.find((c) => c.id === 'admin-penalty') as Catalog;
    const index = buildHeaderIndex(penalty);
    expect(index.get(headerKey('行政处罚决定书文号'))?.name).toBe('decision_doc_no');
    expect(index.get('CF_WSH')?.name).toBe('decision_doc_no');
    expect(index.get(headerKey('罚款金额（万元）'))?.name).toBe('fine_amount_wan_yuan');
    expect(buildHeaderIndex(penalty)).toBe(index);
  });
});

describe('matchHeader', () => {
  it('binds a decorated penalty header and records the unit of money columns', () => {
    const row = [
      '*行政相对人名称',
      '统一社会信用代码',
      '行政处罚决定书文号（必填）',
      '处罚类别',
      '罚款金额\n（元）',
      '处罚决定日期',
      '自编号',
    ];
    const m = matchHeader(row, catalogs);
    expect(m?.catalog.id).toBe('admin-penalty');
    expect(fieldsOf(m?.columns ?? [])).toEqual([
      'subject_name',
      'subject_uscc',
      'decision_doc_no',
      'penalty_types',
      'fine_amount_wan_yuan',
      'decision_date',
    ]);
    expect(m?.columns[4]).toEqual({ index: 4, header: '罚款金额\n（元）', field: 'fine_amount_wan_yuan', unit: '元' });
    expect(m?.columns[0]?.header).toBe('*行政相对人名称');
    expect(m?.unmatched).toEqual(['自编号']);
  });

  it('chooses the licence catalog when the licence items outnumber the shared subject items', () => {
    const m = matchHeader(['企业名称', '统一社会信用代码', '许可机关', '有效期自', '有效期至'], catalogs);
    expect(m?.catalog.id).toBe('admin-license');
  });

  it('lets several columns bind an enum-list field but reports other repeats as unmatched', () => {
    const m = matchHeader(['CF_WSH', 'CF_XDR_MC', '行政相对人名称', 'CF_CFLB1', 'CF_CFLB2', 'CF_JDRQ'], catalogs);
    expect(m?.catalog.id).toBe('admin-penalty');
    expect(m?.columns.filter((c) => c.field === 'penalty_types').map((c) => c.index)).toEqual([3, 4]);
    expect(m?.columns.filter((c) => c.field === 'subject_name').map((c) => c.header)).toEqual(['CF_XDR_MC']);
    expect(m?.duplicates).toEqual(['行政相对人名称']);
    expect(m?.unmatched).toEqual(['行政相对人名称']);
  });

  it('refuses rows that do not look like a header', () => {
    expect(matchHeader(['行政处罚信息公示表'], catalogs)).toBeNull();
    expect(matchHeader(['某某运输公司', '91230184MA1B2C3D4E', '哈交罚〔2024〕1号', '罚款', 0.2], catalogs)).toBeNull();
    expect(matchHeader([null, '', '  '], catalogs)).toBeNull();
    // two fields among many unknown cells: below both thresholds
    expect(matchHeader(['文号', '处罚机关', 'a', 'b', 'c', 'd', 'e'], catalogs)).toBeNull();
  });

  it('accepts a short header when two fields make at least 40% of it', () => {
    expect(matchHeader(['行政处罚决定书文号', '处罚机关', '序号'], catalogs)?.score).toBe(2);
  });

  it('restricts to --catalog, but does not force a header that plainly belongs to another catalog', () => {
    const licence = [
      '行政相对人名称',
      '统一社会信用代码',
      '行政许可决定文书号',
      '许可内容',
      '许可决定日期',
      '许可机关',
    ];
    expect(matchHeader(licence, catalogs, { catalogId: 'admin-license' })?.catalog.id).toBe('admin-license');
    expect(matchHeader(licence, catalogs, { catalogId: 'admin-penalty' })).toBeNull();
  });
});

describe('findHeader', () => {
  const header = [
    '序号',
    '行政相对人名称',
    '行政相对人类别',
    '统一社会信用代码',
    '行政处罚决定书文号',
    '处罚决定日期',
    '处罚机关',
  ];
  const rows: CellValue[][] = [
    ['某县交通运输局行政处罚信息公示表'],
    ['填报说明：带*的为必填项，日期格式为 YYYY/MM/DD', null, null],
    [],
    header,
    ['1', '张三', '自然人', '', '某交罚〔2024〕1号', '2024/01/02', '某县交通运输局'],
  ];

  it('skips title and note rows above the header', () => {
    const found = findHeader(rows, catalogs);
    expect(found?.headerRowIndex).toBe(3);
    expect(found?.match.catalog.id).toBe('admin-penalty');
    expect(found?.match.headers).toEqual(header);
  });

  it('takes the row the clerk names with --header-row, and only that row', () => {
    expect(findHeader(rows, catalogs, { headerRow: 4 })?.headerRowIndex).toBe(3);
    expect(findHeader(rows, catalogs, { headerRow: 1 })).toBeNull();
  });

  it('only looks at the first 20 rows', () => {
    const deep: CellValue[][] = [...Array.from({ length: 20 }, () => ['说明']), header];
    expect(findHeader(deep, catalogs)).toBeNull();
    expect(findHeader(deep, catalogs, { headerRow: 21 })?.headerRowIndex).toBe(20);
  });
});

import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { normalizeHeader } from '../../src/catalog/aliases.js';
import { loadCodeTables, makeCodeListLookup, makeCodeLookup } from '../../src/catalog/code-tables.js';
import { type CatalogSet, loadCatalogs } from '../../src/catalog/load.js';
import { schemasDir } from '../../src/catalog/paths.js';
import type { Catalog } from '../../src/catalog/types.js';
import { GuijiError } from '../../src/errors.js';

// Written by hand from domain.md §1.3 and §1.4: [snake_case name, standard column code].
const LICENSE_COLUMNS: Array<[string, string]> = [
  ['subject_name', 'XK_XDR_MC'],
  ['subject_category', 'XK_XDR_LB'],
  ['subject_uscc', 'XK_XDR_SHXYM'],
  ['subject_business_reg_no', 'XK_XDR_GSZC'],
  ['subject_org_code', 'XK_XDR_ZZJG'],
  ['subject_tax_reg_no', 'XK_XDR_SWDJ'],
  ['subject_public_inst_cert_no', 'XK_XDR_SYDW'],
  ['subject_social_org_reg_no', 'XK_XDR_SHZZ'],
  ['legal_rep_name', 'XK_FRDB'],
  ['legal_rep_id_type', 'XK_FR_ZJLX'],
  ['legal_rep_id_no', 'XK_FR_ZJHM'],
  ['subject_id_type', 'XK_XDR_ZJLX'],
  ['subject_id_no', 'XK_XDR_ZJHM'],
  ['decision_doc_title', 'XK_XKWS'],
  ['decision_doc_no', 'XK_WSH'],
  ['licence_category', 'XK_XKLB'],
  ['licence_cert_name', 'XK_XKZS'],
  ['licence_no', 'XK_XKBH'],
  ['licence_content', 'XK_NR'],
  ['decision_date', 'XK_JDRQ'],
  ['valid_from', 'XK_YXQZ'],
  ['valid_to', 'XK_YXQZI'],
  ['issuing_authority', 'XK_XKJG'],
  ['issuing_authority_uscc', 'XK_XKJGDM'],
  ['status', 'XK_ZT'],
  ['source_unit', 'XK_LYDW'],
  ['source_unit_uscc', 'XK_LYDWDM'],
  ['remarks', 'BZ'],
];
const PENALTY_COLUMNS: Array<[string, string]> = [
  ['subject_name', 'CF_XDR_MC'],
  ['subject_category', 'CF_XDR_LB'],
  ['subject_uscc', 'CF_XDR_SHXYM'],
  ['subject_business_reg_no', 'CF_XDR_GSZC'],
  ['subject_org_code', 'CF_XDR_ZZJG'],
  ['subject_tax_reg_no', 'CF_XDR_SWDJ'],
  ['subject_public_inst_cert_no', 'CF_XDR_SYDW'],
  ['subject_social_org_reg_no', 'CF_XDR_SHZZ'],
  ['legal_rep_name', 'CF_FRDB'],
  ['legal_rep_id_type', 'CF_FR_ZJLX'],
  ['legal_rep_id_no', 'CF_FR_ZJHM'],
  ['subject_id_type', 'CF_XDR_ZJLX'],
  ['subject_id_no', 'CF_XDR_ZJHM'],
  ['decision_doc_no', 'CF_WSH'],
  ['violation_type', 'CF_WFXW'],
  ['violation_facts', 'CF_SY'],
  ['legal_basis', 'CF_YJ'],
  ['penalty_types', 'CF_CFLB'],
  ['penalty_content', 'CF_NR'],
  ['fine_amount_wan_yuan', 'CF_NR_FK'],
  ['confiscation_amount_wan_yuan', 'CF_NR_WFFF'],
  ['suspended_revoked_licence', 'CF_NR_ZKDX'],
  ['decision_date', 'CF_JDRQ'],
  ['penalty_valid_until', 'CF_YXQ'],
  ['publication_end_date', 'CF_GSJZQ'],
  ['penalising_authority', 'CF_CFJG'],
  ['penalising_authority_uscc', 'CF_CFJGDM'],
  ['source_unit', 'CF_SJLY'],
  ['source_unit_uscc', 'CF_SJLYDM'],
  ['remarks', 'BZ'],
];

/** The header key of the brief, written independently of src/catalog/aliases.ts. */
function headerKey(s: string): string {
  return s
    .normalize('NFKC')
    .replace(/\s/g, '')
    .replace(/[*★]/g, '')
    .replace(/\(必填\)/g, '')
    .toUpperCase();
}

const set: CatalogSet = loadCatalogs();
const penalty = set.get('admin-penalty');
const license = set.get('admin-license');
const rawSchema = (c: Catalog) => c.schema as { properties: Record<string, Record<string, unknown>> };

// Valid identifiers worked out by hand (GB 32100 / GB 11643 examples and checksums computed on paper).
const AUTHORITY_USCC = '11230100MB1D2E3F5C';
const COMPANY_USCC = '91230184MA1BUFLT44';
const PERSON_ID = '11010519491231002X';

function validPenalty(): Record<string, unknown> {
  return {
    subject_name: '五常市某某运输有限公司',
    subject_category: '法人及非法人组织',
    subject_uscc: COMPANY_USCC,
    legal_rep_name: '张三',
    decision_doc_no: '五交罚〔2024〕12号',
    violation_type: '超限运输',
    violation_facts: '车辆超限运输',
    legal_basis: '《公路安全保护条例》第六十四条',
    penalty_types: ['罚款'],
    penalty_content: '罚款2000元',
    fine_amount_wan_yuan: 0.2,
    decision_date: '2024-09-27',
    penalty_valid_until: '2025-09-27',
    penalising_authority: '五常市交通运输局',
    penalising_authority_uscc: AUTHORITY_USCC,
    source_unit: '五常市交通运输局',
    source_unit_uscc: AUTHORITY_USCC,
  };
}

function validLicense(): Record<string, unknown> {
  return {
    subject_name: '李四',
    subject_category: '自然人',
    subject_id_type: '身份证',
    subject_id_no: PERSON_ID,
    decision_doc_title: '道路运输从业资格证核发决定书',
    decision_doc_no: '黑交从〔2024〕3号',
    licence_category: '普通',
    licence_content: '道路旅客运输驾驶员从业资格',
    decision_date: '2024-10-08',
    valid_from: '2024-10-08',
    valid_to: '2099-12-31',
    issuing_authority: '五常市交通运输局',
    issuing_authority_uscc: AUTHORITY_USCC,
    status: '1',
    source_unit: '五常市交通运输局',
    source_unit_uscc: AUTHORITY_USCC,
  };
}

function errorsOf(c: Catalog, data: unknown) {
  const ok = c.validate(data);
  return ok ? [] : (c.validate.errors ?? []);
}

describe('catalog set', () => {
  it('loads both 双公示 catalogs from schemas/', () => {
    expect(set.list.map((c) => c.id).sort()).toEqual(['admin-license', 'admin-penalty']);
    expect(penalty.title).toBe('行政处罚');
    expect(license.title).toBe('行政许可');
    expect([penalty.table, license.table]).toEqual(['admin_penalty', 'admin_license']);
    expect([penalty.prefix, license.prefix]).toEqual(['CF', 'XK']);
  });

  it('compiles every *.schema.json of schemas/ (ajv strict) into a catalog', () => {
    const files = readdirSync(schemasDir()).filter((f) => f.endsWith('.schema.json'));
    expect(set.list.map((c) => `${c.id}.schema.json`).sort()).toEqual(files.sort());
    for (const c of set.list) expect(typeof c.validate).toBe('function');
  });

  it('refuses an unknown catalog id, naming the known ones', () => {
    try {
      set.get('admin-fine');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(GuijiError);
      const g = e as GuijiError;
      expect(g.code).toBe('UNKNOWN_CATALOG');
      expect(g.kind).toBe('input');
      expect(g.message).toContain('admin-penalty');
      expect(g.zh).toContain('admin-license');
    }
  });
});

describe.each([
  ['admin-penalty', PENALTY_COLUMNS],
  ['admin-license', LICENSE_COLUMNS],
])('%s', (id, columns) => {
  const c = set.get(id);

  it(`has the ${columns.length} items of domain.md with their standard column codes, in order`, () => {
    expect(c.fields.map((f) => [f.name, f.column])).toEqual(columns);
  });

  it('declares title, x-column, x-clean and type on every property', () => {
    for (const [name, p] of Object.entries(rawSchema(c).properties)) {
      expect(typeof p.title, name).toBe('string');
      expect(typeof p['x-column'], name).toBe('string');
      expect(['text', 'code', 'date', 'money', 'enum', 'enum-list'], name).toContain(p['x-clean']);
      expect(['string', 'number', 'array'], name).toContain(p.type);
      if (p.type === 'string' && p.format !== 'date') expect(typeof p.maxLength, name).toBe('number');
    }
  });

  it('has header spellings that name one field each after normalisation', () => {
    for (const keyOf of [headerKey, normalizeHeader]) {
      const seen = new Map<string, string>();
      for (const f of c.fields) {
        for (const s of [f.title, f.column, ...f.aliases]) {
          const k = keyOf(s);
          const other = seen.get(k);
          if (other !== undefined) expect(other, `"${s}" of ${f.name}`).toBe(f.name);
          seen.set(k, f.name);
        }
      }
    }
  });

  it('maps every header spelling through the loaded header index', () => {
    const index = c.headerIndex;
    expect(index).toBeDefined();
    for (const f of c.fields) {
      for (const s of [f.title, f.column, f.aliases[0] ?? f.title]) expect(index?.get(normalizeHeader(s))).toBe(f.name);
    }
    expect(index?.get(normalizeHeader('*行政相对人名称（必填）'))).toBe('subject_name');
    expect(index?.get(normalizeHeader(`${c.prefix.toLowerCase()}_wsh`))).toBe('decision_doc_no');
  });

  it('derives SQL types from the cleaning kind', () => {
    const sql = Object.fromEntries(c.fields.map((f) => [f.name, f.sqlType]));
    expect(sql.subject_name).toBe('text');
    expect(sql.decision_date).toBe('date');
    expect(sql.subject_uscc).toBe('text');
  });

  it('marks the ID numbers as personal and nothing else', () => {
    expect(
      c.fields
        .filter((f) => f.personal)
        .map((f) => f.name)
        .sort(),
    ).toEqual(['legal_rep_id_no', 'subject_id_no']);
  });

  it('lets the county config supply the authority and the data-source unit', () => {
    const authority = id === 'admin-penalty' ? 'penalising_authority' : 'issuing_authority';
    expect(
      c.fields
        .filter((f) => f.countyDefault)
        .map((f) => [f.name, f.countyDefault])
        .sort(),
    ).toEqual(
      [
        [authority, authority],
        [`${authority}_uscc`, `${authority}_uscc`],
        ['source_unit', 'source_unit'],
        ['source_unit_uscc', 'source_unit_uscc'],
      ].sort(),
    );
  });

  it('has a natural key of decision number, authority USCC and subject key', () => {
    const authority = id === 'admin-penalty' ? 'penalising_authority_uscc' : 'issuing_authority_uscc';
    expect(c.naturalKey).toEqual(['decision_doc_no', authority, 'subject_key']);
    expect(c.byName.get(authority)?.format).toBe('uscc');
    expect(c.decisionDate).toBe('decision_date');
  });

  it('lists in the schema exactly the canonical values of its code tables', () => {
    for (const f of c.fields.filter((x) => x.codeTable)) {
      const p = rawSchema(c).properties[f.name] as Record<string, unknown>;
      const listed =
        (p.enum as string[] | undefined) ??
        ((p.items as Record<string, unknown> | undefined)?.enum as string[] | undefined) ??
        (p.anyOf as Array<{ enum?: string[] }>).find((b) => b.enum)?.enum;
      const table = c.codeTables.get(f.codeTable as string);
      expect(listed?.slice().sort(), f.name).toEqual(Object.keys(table?.values ?? {}).sort());
    }
  });
});

describe('validation of cleaned records', () => {
  it('accepts a valid penalty and a valid licence', () => {
    expect(errorsOf(penalty, validPenalty())).toEqual([]);
    expect(errorsOf(license, validLicense())).toEqual([]);
  });

  it('reports a missing always-required field with the required keyword', () => {
    const r = validPenalty();
    delete r.penalty_content;
    const errs = errorsOf(penalty, r);
    expect(errs).toEqual([
      expect.objectContaining({ keyword: 'required', params: { missingProperty: 'penalty_content' } }),
    ]);
  });

  it('checks USCC check characters through the uscc format', () => {
    const r = validPenalty();
    r.penalising_authority_uscc = '11230100MB1D2E3F5D';
    const errs = errorsOf(penalty, r);
    expect(errs).toEqual([
      expect.objectContaining({
        keyword: 'format',
        instancePath: '/penalising_authority_uscc',
        params: { format: 'uscc' },
      }),
    ]);
    // The Fujian pilot code that fails the check character is accepted (domain.md §2.1).
    r.penalising_authority_uscc = '91350203M0001QAY9B';
    expect(errorsOf(penalty, r)).toEqual([]);
  });

  it('requires the fine when 罚款 is among the penalty types', () => {
    const r = validPenalty();
    delete r.fine_amount_wan_yuan;
    const errs = errorsOf(penalty, r);
    expect(errs).toContainEqual(
      expect.objectContaining({ keyword: 'required', params: { missingProperty: 'fine_amount_wan_yuan' } }),
    );
    r.penalty_types = ['警告'];
    expect(errorsOf(penalty, r)).toEqual([]);
  });

  it('requires the confiscated amount and the licence for confiscation and revocation types', () => {
    const r = validPenalty();
    r.penalty_types = ['罚款', '没收违法所得、没收非法财物', '吊销许可证件'];
    const missing = errorsOf(penalty, r)
      .filter((e) => e.keyword === 'required')
      .map((e) => e.params.missingProperty)
      .sort();
    expect(missing).toEqual(['confiscation_amount_wan_yuan', 'suspended_revoked_licence']);
  });

  it('rejects penalty types outside the code table and negative amounts', () => {
    const r = validPenalty();
    r.penalty_types = ['罚金'];
    r.fine_amount_wan_yuan = -1;
    const keywords = errorsOf(penalty, r).map((e) => `${e.instancePath} ${e.keyword}`);
    expect(keywords).toContain('/penalty_types/0 enum');
    expect(keywords).toContain('/fine_amount_wan_yuan minimum');
  });

  it('applies the subject-category rules', () => {
    const person = validLicense();
    person.subject_uscc = COMPANY_USCC;
    expect(errorsOf(license, person).map((e) => `${e.instancePath} ${e.keyword}`)).toContain(
      '/subject_uscc false schema',
    );

    const nameless = validLicense();
    delete nameless.subject_id_no;
    expect(errorsOf(license, nameless)).toContainEqual(
      expect.objectContaining({ keyword: 'required', params: { missingProperty: 'subject_id_no' } }),
    );

    const company = validPenalty();
    delete company.subject_uscc;
    delete company.legal_rep_name;
    const missing = errorsOf(penalty, company)
      .filter((e) => e.keyword === 'required')
      .map((e) => e.params.missingProperty)
      .sort();
    expect(missing).toEqual(['legal_rep_name', 'subject_uscc']);

    const shop = validPenalty();
    shop.subject_category = '个体工商户';
    delete shop.subject_uscc;
    expect(errorsOf(penalty, shop)).toEqual([]);
    delete shop.legal_rep_name;
    expect(errorsOf(penalty, shop)).toContainEqual(
      expect.objectContaining({ keyword: 'required', params: { missingProperty: 'legal_rep_name' } }),
    );
  });

  it('checks a 身份证 number with the resident-id format, other ID types as free text', () => {
    const r = validLicense();
    r.subject_id_no = '110105194912310021';
    expect(errorsOf(license, r)).toContainEqual(
      expect.objectContaining({ keyword: 'format', instancePath: '/subject_id_no', params: { format: 'resident-id' } }),
    );
    r.subject_id_type = '护照';
    r.subject_id_no = 'E12345678';
    expect(errorsOf(license, r)).toEqual([]);
    r.subject_id_type = '其他-军官证';
    expect(errorsOf(license, r)).toEqual([]);
  });

  it('requires the licence number when a certificate was issued, and real dates', () => {
    const r = validLicense();
    r.licence_cert_name = '道路运输从业资格证';
    expect(errorsOf(license, r)).toContainEqual(
      expect.objectContaining({ keyword: 'required', params: { missingProperty: 'licence_no' } }),
    );
    r.licence_no = '230184000001';
    r.valid_from = '2024-02-30';
    expect(errorsOf(license, r)).toEqual([
      expect.objectContaining({ keyword: 'format', instancePath: '/valid_from', params: { format: 'date' } }),
    ]);
  });

  it('refuses fields the catalog does not have', () => {
    const r = validLicense();
    r.licence_grade = 'A';
    expect(errorsOf(license, r)).toEqual([expect.objectContaining({ keyword: 'additionalProperties' })]);
  });
});

describe('code tables', () => {
  const tables = loadCodeTables(join(schemasDir(), 'code-tables.json'));
  const lookup = (id: string) => {
    const t = tables.get(id);
    if (!t) throw new Error(`no table ${id}`);
    return makeCodeLookup(t);
  };

  it('resolves the local numeric codes and Chinese words of domain.md §1.3', () => {
    const category = lookup('subject-category');
    expect(['01', '02', '03', '04'].map(category)).toEqual([
      '自然人',
      '法人及非法人组织',
      '法人及非法人组织',
      '个体工商户',
    ]);
    expect(['法人', '企业', '非法人组织', '单位', '个人', '个体户', '个体'].map(category)).toEqual([
      '法人及非法人组织',
      '法人及非法人组织',
      '法人及非法人组织',
      '法人及非法人组织',
      '自然人',
      '个体工商户',
      '个体工商户',
    ]);
    const idType = lookup('id-type');
    expect(['01', '02', '03', '04', '05'].map(idType)).toEqual([
      '身份证',
      '护照',
      '港澳居民来往内地通行证',
      '台湾居民来往大陆通行证',
      '外国人永久居留身份证',
    ]);
    expect(['居民身份证', '护照号'].map(idType)).toEqual(['身份证', '护照']);
    expect(idType('其他-军官证')).toBe('其他-军官证');
    expect(idType('其他-')).toBeUndefined();
    expect(idType('驾驶证')).toBeUndefined();
    const category2 = lookup('licence-category');
    expect(['01', '02', '03', '04', '05', '06'].map(category2)).toEqual([
      '普通',
      '特许',
      '认可',
      '核准',
      '登记',
      '其他',
    ]);
    const status = lookup('licence-status');
    expect(['1', '2', '有效', '无效', '正常'].map(status)).toEqual(['1', '2', '1', '2', '1']);
  });

  it('resolves both penalty-type lists of domain.md §1.4 and the 0101xx codes', () => {
    const t = lookup('penalty-type');
    const pre2021 = [
      '警告',
      '罚款',
      '没收违法所得、没收非法财物',
      '责令停产停业',
      '暂扣或者吊销许可证、暂扣或者吊销执照',
      '行政拘留',
      '其他',
    ];
    const post2021 = [
      '警告',
      '通报批评',
      '罚款',
      '没收违法所得',
      '没收非法财物',
      '暂扣许可证件',
      '降低资质等级',
      '吊销许可证件',
      '限制开展生产经营活动',
      '责令停产停业',
      '责令关闭',
      '限制从业',
      '行政拘留',
    ];
    for (const v of [...pre2021, ...post2021]) expect(t(v)).toBe(v);
    expect(t('010103')).toBe('罚款');
    expect(t('010112')).toBe('限制从业');
    expect(t('吊销许可证')).toBe('吊销许可证件');
  });

  it('normalises full-width characters, spaces and case', () => {
    expect(lookup('subject-category')('０４')).toBe('个体工商户');
    expect(lookup('id-type')(' 身 份 证 ')).toBe('身份证');
    expect(lookup('penalty-type')('罚\u3000款')).toBe('罚款');
  });

  it('never lets a spelling of one value be another canonical value', () => {
    for (const t of tables.values()) {
      const canon = new Set(Object.keys(t.values).map(headerKey));
      for (const [c, spellings] of Object.entries(t.values)) {
        for (const s of spellings)
          if (headerKey(s) !== headerKey(c)) expect(canon.has(headerKey(s)), `${t.id}: ${s}`).toBe(false);
      }
    }
  });

  it('splits multi-valued penalty cells without breaking values that contain 、', () => {
    const t = tables.get('penalty-type');
    if (!t) throw new Error('no penalty-type');
    const list = makeCodeListLookup(t);
    expect(list('罚款；没收违法所得、没收非法财物')).toEqual({
      values: ['罚款', '没收违法所得、没收非法财物'],
      unknown: [],
    });
    expect(list('警告、罚款、没收违法所得')).toEqual({ values: ['警告', '罚款', '没收违法所得'], unknown: [] });
    expect(list('罚款/罚款; 记分')).toEqual({ values: ['罚款'], unknown: ['记分'] });
  });
});

// The templates live beside the repository (../shared), not in it; a bare clone has no copy.
const templatesDir = join(schemasDir(), '../../shared/reference/real-templates');
describe.skipIf(!existsSync(templatesDir))('real county templates (../shared/reference/real-templates)', () => {
  const dir = templatesDir;

  async function headerRow(file: string): Promise<string[]> {
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(join(dir, file));
    const ws = wb.worksheets[0];
    if (!ws) throw new Error(`${file}: no sheet`);
    let best: string[] = [];
    for (let r = 1; r <= 5; r++) {
      const cells: string[] = [];
      ws.getRow(r).eachCell((cell) => {
        if (typeof cell.value === 'string') cells.push(cell.value);
      });
      if (cells.length > best.length) best = cells;
    }
    return best;
  }
  const bind = (c: Catalog, headers: string[]) =>
    Object.fromEntries(headers.map((h) => [h, c.headerIndex?.get(normalizeHeader(h)) ?? null]));

  it('binds the Zhejiang penalty template', async () => {
    expect(bind(penalty, await headerRow('zj-xzcf.xlsx'))).toEqual({
      处罚决定书文号: 'decision_doc_no',
      处罚决定书签发日期: 'decision_date',
      违法行为类型: 'violation_type',
      处罚种类: 'penalty_types',
      处罚机关: 'penalising_authority',
      企业名称: 'subject_name',
      注册号: 'subject_business_reg_no',
      统一社会信用代码: 'subject_uscc',
    });
  });

  it('binds the Zhejiang licence template', async () => {
    expect(bind(license, await headerRow('zj-xzxk.xlsx'))).toEqual({
      许可文件编号: 'decision_doc_no',
      许可文件名称: 'decision_doc_title',
      有效期自: 'valid_from',
      有效期至: 'valid_to',
      许可机关: 'issuing_authority',
      登记状态: 'status',
      企业名称: 'subject_name',
      注册号: 'subject_business_reg_no',
      统一社会信用代码: 'subject_uscc',
    });
  });

  it('binds the Jiangsu old-template licence codes, leaving the columns the new template dropped', async () => {
    expect(bind(license, await headerRow('js-XK_Template.xlsx'))).toEqual({
      XK_WSH: 'decision_doc_no',
      XK_XMMC: 'decision_doc_title',
      XK_BM: null,
      XK_SPLB: 'licence_category',
      XK_NR: 'licence_content',
      XK_XDR: 'subject_name',
      XK_XDR_SHXYM: 'subject_uscc',
      XK_XDR_ZDM: 'subject_org_code',
      XK_XDR_GSDJ: 'subject_business_reg_no',
      XK_XDR_SWDJ: 'subject_tax_reg_no',
      XK_XDR_SFZ: 'subject_id_no',
      XK_FR: 'legal_rep_name',
      XK_JDRQ: 'decision_date',
      XK_JZQ: 'valid_to',
      XK_XZJG: 'issuing_authority',
      XK_ZT: 'status',
      DFBM: null,
      SJC: null,
      BZ: 'remarks',
      XK_SYFW: null,
    });
  });

  it('binds the Jiangsu old-template penalty headers (read by hand from js-CF_Template.xls)', () => {
    const headers = ['行政处罚决定书文号', '处罚类别1', '处罚事由', '处罚依据', '行政相对人名称', '统一社会信用代码'];
    headers.push('组织机构代码', '工商登记码', '税务登记号', '居民身份证号', '法定代表人姓名', '处罚结果');
    headers.push('处罚决定日期', '处罚机关', '备注', '公示截止期', '处罚名称', '当前状态', '地方编码');
    expect(bind(penalty, headers)).toEqual({
      行政处罚决定书文号: 'decision_doc_no',
      处罚类别1: 'penalty_types',
      处罚事由: 'violation_facts',
      处罚依据: 'legal_basis',
      行政相对人名称: 'subject_name',
      统一社会信用代码: 'subject_uscc',
      组织机构代码: 'subject_org_code',
      工商登记码: 'subject_business_reg_no',
      税务登记号: 'subject_tax_reg_no',
      居民身份证号: 'subject_id_no',
      法定代表人姓名: 'legal_rep_name',
      处罚结果: 'penalty_content',
      处罚决定日期: 'decision_date',
      处罚机关: 'penalising_authority',
      备注: 'remarks',
      公示截止期: 'publication_end_date',
      处罚名称: null,
      当前状态: null,
      地方编码: null,
    });
  });
});

describe('a bad catalog fails at start-up with the file and the JSON path', () => {
  function copySchemas(): string {
    const dir = mkdtempSync(join(tmpdir(), 'guiji-catalogs-'));
    cpSync(schemasDir(), dir, { recursive: true });
    return dir;
  }
  // biome-ignore lint/suspicious/noExplicitAny: free-form edits of parsed JSON in a test
  function edit(dir: string, file: string, change: (s: Record<string, any>) => void) {
    const path = join(dir, file);
    const s = JSON.parse(readFileSync(path, 'utf8'));
    change(s);
    writeFileSync(path, JSON.stringify(s));
  }
  function configErrorOf(dir: string): GuijiError {
    try {
      loadCatalogs({ dir });
    } catch (e) {
      if (e instanceof GuijiError) return e;
      throw e;
    }
    throw new Error('loadCatalogs did not fail');
  }

  it('names a natural-key field that does not exist', () => {
    const dir = copySchemas();
    edit(dir, 'admin-penalty.schema.json', (s) => {
      s['x-catalog'].naturalKey[1] = 'authority_uscc';
    });
    const e = configErrorOf(dir);
    expect(e.kind).toBe('config');
    expect(e.details.file).toBe(join(dir, 'admin-penalty.schema.json'));
    expect(e.details.path).toBe('$["x-catalog"].naturalKey[1]');
  });

  it('refuses a table name that is not snake_case', () => {
    const dir = copySchemas();
    edit(dir, 'admin-license.schema.json', (s) => {
      s['x-catalog'].table = 'Admin-License';
    });
    expect(configErrorOf(dir).details.path).toBe('$["x-catalog"].table');
  });

  it('refuses an alias that would name two fields', () => {
    const dir = copySchemas();
    edit(dir, 'admin-license.schema.json', (s) => {
      s.properties.valid_from['x-aliases'].push('截止 日期');
    });
    const e = configErrorOf(dir);
    expect(e.details.path).toBe('$.properties.valid_to');
    expect(e.message).toContain('"截止 日期" of valid_from');
  });

  it('refuses an unregistered keyword (ajv strict) and a typo in a conditional rule', () => {
    const dir = copySchemas();
    edit(dir, 'admin-penalty.schema.json', (s) => {
      s.properties.remarks['x-colour'] = 'red';
    });
    expect(configErrorOf(dir).message).toContain('x-colour');
    const dir2 = copySchemas();
    edit(dir2, 'admin-penalty.schema.json', (s) => {
      s.allOf[0].then.required = ['subject_id_type', 'subject_idno'];
    });
    expect(configErrorOf(dir2).details.path).toBe('$.allOf[0].then');
  });

  it('refuses a schema enum that drifted from its code table', () => {
    const dir = copySchemas();
    edit(dir, 'admin-license.schema.json', (s) => {
      s.properties.licence_category.enum.pop();
    });
    expect(configErrorOf(dir).details.path).toBe('$.properties.licence_category.enum');
  });
});

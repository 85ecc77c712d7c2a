import { fullFormats } from 'ajv-formats/dist/formats.js';
import { describe, expect, it } from 'vitest';
import { makeCatalogAjv } from '../../src/catalog/load.js';
import { compileQuickCheck, isIsoDate, type QuickCheck } from '../../src/catalog/quick-check.js';
import type { Catalog } from '../../src/catalog/types.js';
import { CODES, catalogs, rng } from './stage-context.js';

const ASTRAL = '\u{20000}'; // one code point, two UTF-16 units

/** Values worth trying in any field: valid ones, wrong types, boundary lengths, near-miss formats. */
function candidates(catalog: Catalog, name: string): unknown[] {
  const f = catalog.byName.get(name);
  const out: unknown[] = [undefined, '', 'x', 0, -1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, null, true, {}, []];
  if (f?.maxLength !== undefined) {
    out.push('字'.repeat(f.maxLength), '字'.repeat(f.maxLength + 1), ASTRAL.repeat(f.maxLength));
    out.push(ASTRAL.repeat(f.maxLength + 1), `${ASTRAL.repeat(f.maxLength - 1)}\ud800`);
  }
  const table = f?.codeTable ? catalog.codeTables.get(f.codeTable) : undefined;
  const canonical = table ? Object.keys(table.values) : [];
  if (f?.clean === 'enum-list') {
    out.push(canonical.slice(0, 1), canonical.slice(0, 3), [canonical[0], canonical[0]], [canonical[0], 7], ['罚款']);
    out.push(['没收违法所得'], ['吊销许可证件', '罚款'], ['不存在']);
  } else out.push(...canonical, '其他-军官证', '其他-', '其他');
  out.push(CODES.company, CODES.individual, CODES.countyAuthority, '91230521MA1CD4E517', '594672399', '594672398');
  out.push(CODES.residentId, '230521198503154212', '230521850315421', '11010519491231002X', '11010519491231002x');
  out.push('2024-02-29', '2023-02-29', '2024-13-01', '2024-1-01', '2099-12-31', '2024-02-29\n');
  return out;
}

function records(catalog: Catalog, seed: number, count: number, bases: Array<Record<string, unknown>>) {
  const random = rng(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(random() * a.length)] as T;
  const names = catalog.fields.map((f) => f.name);
  const pools = new Map(names.map((n) => [n, candidates(catalog, n)] as const));
  const out: unknown[] = [null, [], 'x', 7, {}];
  for (let i = 0; i < count; i++) {
    const r: Record<string, unknown> = { ...pick(bases) };
    const changes = 1 + Math.floor(random() * 4);
    for (let j = 0; j < changes; j++) {
      const name = pick(names);
      const v = pick(pools.get(name) as unknown[]);
      if (v === undefined && random() < 0.5) delete r[name];
      else r[name] = v;
    }
    if (random() < 0.03) r.not_a_field = 'x';
    out.push(r);
  }
  return out;
}

/** Arrays holding something other than strings: uniqueItems is left to ajv there (quick check says no). */
function hasNonStringItems(r: unknown): boolean {
  if (typeof r !== 'object' || r === null) return false;
  return Object.values(r).some((v) => Array.isArray(v) && v.some((x) => typeof x !== 'string'));
}

const penaltyBase: Record<string, unknown> = {
  subject_name: '集贤县顺达运输有限公司',
  subject_category: '法人及非法人组织',
  subject_uscc: CODES.company,
  legal_rep_name: '王建国',
  decision_doc_no: '集交罚〔2019〕第0123号',
  violation_type: '未按规定携带道路运输证',
  violation_facts: '未随车携带道路运输证。',
  legal_basis: '《中华人民共和国道路运输条例》第六十八条',
  penalty_types: ['罚款'],
  penalty_content: '罚款2000元',
  fine_amount_wan_yuan: 0.2,
  decision_date: '2019-10-10',
  penalty_valid_until: '2019-10-17',
  publication_end_date: '2020-10-17',
  penalising_authority: '集贤县交通运输局',
  penalising_authority_uscc: CODES.countyAuthority,
  source_unit: '集贤县交通运输局',
  source_unit_uscc: CODES.countyAuthority,
};
const personBase: Record<string, unknown> = {
  ...penaltyBase,
  subject_name: '张三',
  subject_category: '自然人',
  subject_uscc: undefined,
  subject_id_type: '身份证',
  subject_id_no: CODES.residentId,
  penalty_types: ['警告'],
  fine_amount_wan_yuan: undefined,
};

const licenceBase: Record<string, unknown> = {
  subject_name: '集贤县顺达运输有限公司',
  subject_category: '法人及非法人组织',
  subject_uscc: CODES.company,
  legal_rep_name: '王建国',
  decision_doc_title: '道路运输经营许可决定书',
  decision_doc_no: '集交运许〔2019〕15号',
  licence_category: '普通',
  licence_cert_name: '道路运输经营许可证',
  licence_no: '黑交运管许可集字230521000123号',
  licence_content: '道路普通货物运输',
  decision_date: '2019-09-01',
  valid_from: '2019-09-01',
  valid_to: '2099-12-31',
  issuing_authority: '集贤县交通运输局',
  issuing_authority_uscc: CODES.countyAuthority,
  status: '1',
  source_unit: '集贤县交通运输局',
  source_unit_uscc: CODES.countyAuthority,
};

function quickOf(catalog: Catalog): QuickCheck {
  const q = compileQuickCheck(catalog.schema, makeCatalogAjv().formats);
  if (!q) throw new Error(`no quick check for ${catalog.id}`);
  return q;
}

describe('quick check', () => {
  for (const catalog of catalogs.list) {
    it(`answers as the full ajv validator does on ${catalog.id} records`, () => {
      const quick = quickOf(catalog);
      const bases = catalog.id === 'admin-penalty' ? [penaltyBase, personBase] : [licenceBase];
      let accepted = 0;
      let rejected = 0;
      for (const r of records(catalog, 42, 20_000, bases)) {
        const full = catalog.validate(r);
        const q = quick(r);
        if (q) expect(full, JSON.stringify(r)).toBe(true); // never accepts what ajv rejects
        if (!hasNonStringItems(r)) expect(q, JSON.stringify(r)).toBe(full);
        if (full) accepted++;
        else rejected++;
      }
      // The generated records exercise both outcomes.
      expect(accepted).toBeGreaterThan(100);
      expect(rejected).toBeGreaterThan(100);
    });
  }

  it('decides the conditional rules (if/then) as ajv does', () => {
    const penalty = catalogs.get('admin-penalty');
    const quick = quickOf(penalty);
    expect(quick(penaltyBase)).toBe(true);
    expect(quick(personBase)).toBe(true);
    expect(quick({ ...personBase, subject_uscc: CODES.company })).toBe(false); // a 自然人 has no USCC
    expect(quick({ ...personBase, subject_id_no: undefined })).toBe(false);
    expect(quick({ ...penaltyBase, fine_amount_wan_yuan: undefined })).toBe(false); // 罚款 needs an amount
    expect(quick({ ...penaltyBase, penalty_types: ['警告'], fine_amount_wan_yuan: undefined })).toBe(true);
    expect(quick({ ...penaltyBase, penalty_types: ['罚款', '吊销许可证件'] })).toBe(false);
    expect(quick({ ...penaltyBase, legal_rep_name: undefined })).toBe(false);
    const licence = quickOf(catalogs.get('admin-license'));
    expect(licence(licenceBase)).toBe(true);
    expect(licence({ ...licenceBase, licence_no: undefined })).toBe(false); // a certificate needs its number
    expect(licence({ ...licenceBase, licence_no: undefined, licence_cert_name: undefined })).toBe(true);
  });

  it('reads the properties in any order and refuses one the catalog does not have', () => {
    const quick = quickOf(catalogs.get('admin-penalty'));
    const reversed = Object.fromEntries(Object.entries(penaltyBase).reverse());
    expect(quick(reversed)).toBe(true);
    expect(quick({ ...reversed, fine_amount_wan_yuan: -1 })).toBe(false);
    expect(quick({ not_a_field: 1, ...penaltyBase })).toBe(false);
    expect(quick({ ...penaltyBase, not_a_field: 1 })).toBe(false);
    expect(quick(Object.assign(Object.create({ subject_name: 7 }), penaltyBase))).toBe(true); // own one shadows
    expect(quick(Object.assign(Object.create({ remarks: 7 }), penaltyBase))).toBe(false);
  });

  it('counts lengths in code points, as ajv does', () => {
    const quick = compileQuickCheck({ type: 'string', maxLength: 2, minLength: 2 }, {}) as QuickCheck;
    expect(quick(`${ASTRAL}${ASTRAL}`)).toBe(true);
    expect(quick(`${ASTRAL}${ASTRAL}a`)).toBe(false);
    expect(quick(ASTRAL)).toBe(false);
  });

  it('reads dates exactly as ajv-formats does', () => {
    const ajvDate = (fullFormats.date as { validate: (s: string) => boolean }).validate;
    const random = rng(7);
    const alphabet = '0123456789--/ \n１';
    const samples: string[] = ['', '2024-02-29', '2023-02-29', '1900-02-29', '2000-02-29', '2024-00-10', '2024-04-31'];
    samples.push('2024-12-31', '0000-01-01', '9999-12-31', '2024-02-29\n', ' 2024-02-29', '2024/02/29', '2024-2-29');
    for (let y = 1899; y <= 2101; y += 1) {
      for (let m = 0; m <= 13; m++) {
        for (let d = 0; d <= 32; d++) samples.push(`${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`);
      }
    }
    for (let i = 0; i < 20_000; i++) {
      const chars = Array.from(
        { length: 9 + Math.floor(random() * 3) },
        () => alphabet[Math.floor(random() * alphabet.length)],
      );
      samples.push(chars.join(''));
      const base = samples[7 + Math.floor(random() * 5000)] as string;
      const at = Math.floor(random() * base.length);
      samples.push(base.slice(0, at) + chars[0] + base.slice(at + 1));
    }
    let valid = 0;
    for (const s of samples) {
      expect(isIsoDate(s), JSON.stringify(s)).toBe(ajvDate(s));
      if (ajvDate(s)) valid++;
    }
    expect(valid).toBeGreaterThan(70_000);
  });

  it('gives up on keywords it does not compile', () => {
    expect(compileQuickCheck({ type: 'object', not: { required: ['a'] } }, {})).toBeUndefined();
    expect(compileQuickCheck({ properties: { a: { $ref: '#/$defs/a' } } }, {})).toBeUndefined();
    expect(compileQuickCheck({ properties: { a: { format: 'no-such-format' } } }, {})).toBeUndefined();
  });
});

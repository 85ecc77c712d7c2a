#!/usr/bin/env node
// Regenerates the county fixtures in fixtures/ (data files only; the *.expected.json golden files
// are written by hand from the files and are never touched here). Deterministic: a seeded PRNG
// makes every code and name; LibreOffice-converted files need `soffice` and are skipped without it.
//   node scripts/make-fixtures.mjs
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { residentId } from './fixtures/ids.mjs';
import {
  company,
  freightDriverLicence,
  freightLicence,
  isoPlus,
  JIXIAN,
  noQualification,
  noRoadCert,
  overload,
  passengerLicence,
  person,
  revokeVehicleCert,
  ridehail,
  ridehailCarLicence,
  ridehailDriverLicence,
  taxiLicence,
  taxiRefusal,
  unlicensedFreight,
  vehicleCertLicence,
  WUCHANG,
} from './fixtures/people.mjs';
import { addSheet, hasSoffice, sofficeConvert, writeCsv, writeWorkbook } from './fixtures/write.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
const DEMO = join(ROOT, 'demo');
const COUNTY = join(ROOT, 'county');
const REFUSE = join(ROOT, 'refuse');
for (const d of [DEMO, COUNTY, REFUSE]) mkdirSync(d, { recursive: true });

// ---------------------------------------------------------------- column sets (header text → field)
const PENALTY_STANDARD = [
  ['行政相对人名称', 'subject_name'],
  ['行政相对人类别', 'subject_category'],
  ['行政相对人代码_1(统一社会信用代码)', 'subject_uscc'],
  ['行政相对人代码_2(工商注册号)', 'subject_business_reg_no'],
  ['行政相对人代码_3(组织机构代码)', 'subject_org_code'],
  ['行政相对人代码_4(税务登记号)', 'subject_tax_reg_no'],
  ['行政相对人代码_5(事业单位证书号)', 'subject_public_inst_cert_no'],
  ['行政相对人代码_6(社会组织登记证号)', 'subject_social_org_reg_no'],
  ['法定代表人', 'legal_rep_name'],
  ['法定代表人证件类型', 'legal_rep_id_type'],
  ['法定代表人证件号码', 'legal_rep_id_no'],
  ['证件类型', 'subject_id_type'],
  ['证件号码', 'subject_id_no'],
  ['行政处罚决定书文号', 'decision_doc_no'],
  ['违法行为类型', 'violation_type'],
  ['违法事实', 'violation_facts'],
  ['处罚依据', 'legal_basis'],
  ['处罚类别', 'penalty_types'],
  ['处罚内容', 'penalty_content'],
  ['罚款金额（万元）', 'fine_amount_wan_yuan'],
  ['没收违法所得、没收非法财物的金额（万元）', 'confiscation_amount_wan_yuan'],
  ['暂扣或吊销证照名称及编号', 'suspended_revoked_licence'],
  ['处罚决定日期', 'decision_date'],
  ['处罚有效期', 'penalty_valid_until'],
  ['公示截止期', 'publication_end_date'],
  ['处罚机关', 'penalising_authority'],
  ['处罚机关统一社会信用代码', 'penalising_authority_uscc'],
  ['数据来源单位', 'source_unit'],
  ['数据来源单位统一社会信用代码', 'source_unit_uscc'],
  ['备注', 'remarks'],
];

const PENALTY_DEMO = [
  ['*行政相对人名称', 'subject_name'],
  ['*行政相对人类别', 'subject_category'],
  ['行政相对人代码_1\n(统一社会信用代码)', 'subject_uscc'],
  ['法定代表人', 'legal_rep_name'],
  ['证件类型', 'subject_id_type'],
  ['证件号码', 'subject_id_no'],
  ['*行政处罚决定书文号', 'decision_doc_no'],
  ['*违法行为类型', 'violation_type'],
  ['*违法事实', 'violation_facts'],
  ['*处罚依据', 'legal_basis'],
  ['*处罚类别', 'penalty_types'],
  ['*处罚内容', 'penalty_content'],
  ['罚款金额（万元）', 'fine_amount_wan_yuan'],
  ['没收违法所得、没收非法财物的金额（万元）', 'confiscation_amount_wan_yuan'],
  ['暂扣或吊销证照名称及编号', 'suspended_revoked_licence'],
  ['处罚决定日期（必填）', 'decision_date'],
  ['处罚有效期（必填）', 'penalty_valid_until'],
  ['公示截止期', 'publication_end_date'],
  ['★处罚机关', 'penalising_authority'],
  ['★处罚机关统一社会信用代码', 'penalising_authority_uscc'],
  ['★数据来源单位', 'source_unit'],
  ['★数据来源单位统一社会信用代码', 'source_unit_uscc'],
  ['备注', 'remarks'],
];

const PENALTY_MESSY = [
  ['行政相对人名称', 'subject_name'],
  ['行政相对人类别', 'subject_category'],
  ['统一社会信用代码', 'subject_uscc'],
  ['工商注册号', 'subject_business_reg_no'],
  ['组织机构代码', 'subject_org_code'],
  ['法定代表人', 'legal_rep_name'],
  ['法定代表人证件类型', 'legal_rep_id_type'],
  ['法定代表人证件号码', 'legal_rep_id_no'],
  ['证件类型', 'subject_id_type'],
  ['证件号码', 'subject_id_no'],
  ['处罚决定书文号', 'decision_doc_no'],
  ['违法行为类型', 'violation_type'],
  ['违法事实', 'violation_facts'],
  ['处罚依据', 'legal_basis'],
  ['处罚种类', 'penalty_types'],
  ['处罚内容', 'penalty_content'],
  ['罚款金额（万元）', 'fine_amount_wan_yuan'],
  ['没收违法所得、没收非法财物的金额（万元）', 'confiscation_amount_wan_yuan'],
  ['暂扣或吊销证照名称及编号', 'suspended_revoked_licence'],
  ['处罚决定日期', 'decision_date'],
  ['处罚有效期', 'penalty_valid_until'],
  ['公示截止期', 'publication_end_date'],
  ['处罚机关', 'penalising_authority'],
  ['处罚机关统一社会信用代码', 'penalising_authority_uscc'],
  ['数据来源单位', 'source_unit'],
  ['数据来源单位统一社会信用代码', 'source_unit_uscc'],
  ['备注', 'remarks'],
];

/** Penalty columns of a system that exports money in 元 (the header says so for the whole file). */
const PENALTY_YUAN = PENALTY_STANDARD.filter(
  ([, f]) => !f.startsWith('subject_') || /name|category|uscc|org_code|id_/.test(f),
).map(([h, f]) =>
  f === 'fine_amount_wan_yuan'
    ? ['罚款金额（元）', f]
    : f === 'confiscation_amount_wan_yuan'
      ? ['没收违法所得、没收非法财物的金额（元）', f]
      : [h, f],
);

const LICENCE_STANDARD = [
  ['行政相对人名称', 'subject_name'],
  ['行政相对人类别', 'subject_category'],
  ['行政相对人代码_1(统一社会信用代码)', 'subject_uscc'],
  ['行政相对人代码_2(工商注册号)', 'subject_business_reg_no'],
  ['行政相对人代码_3(组织机构代码)', 'subject_org_code'],
  ['行政相对人代码_4(税务登记号)', 'subject_tax_reg_no'],
  ['行政相对人代码_5(事业单位证书号)', 'subject_public_inst_cert_no'],
  ['行政相对人代码_6(社会组织登记证号)', 'subject_social_org_reg_no'],
  ['法定代表人', 'legal_rep_name'],
  ['法定代表人证件类型', 'legal_rep_id_type'],
  ['法定代表人证件号码', 'legal_rep_id_no'],
  ['证件类型', 'subject_id_type'],
  ['证件号码', 'subject_id_no'],
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
  ['备注', 'remarks'],
];

const LICENCE_DEMO = [
  ['*行政相对人名称', 'subject_name'],
  ['*行政相对人类别', 'subject_category'],
  ['行政相对人代码_1(统一社会信用代码)', 'subject_uscc'],
  ['法定代表人', 'legal_rep_name'],
  ['证件类型', 'subject_id_type'],
  ['证件号码', 'subject_id_no'],
  ['*行政许可决定文书名称', 'decision_doc_title'],
  ['*行政许可决定文书号', 'decision_doc_no'],
  ['*许可类别', 'licence_category'],
  ['许可证书名称', 'licence_cert_name'],
  ['许可编号', 'licence_no'],
  ['*许可内容', 'licence_content'],
  ['*许可决定日期', 'decision_date'],
  ['*有效期自', 'valid_from'],
  ['*有效期至', 'valid_to'],
  ['*许可机关', 'issuing_authority'],
  ['*许可机关统一社会信用代码', 'issuing_authority_uscc'],
  ['*当前状态', 'status'],
  ['*数据来源单位', 'source_unit'],
  ['*数据来源单位统一社会信用代码', 'source_unit_uscc'],
  ['备注', 'remarks'],
];

const LICENCE_MESSY = [
  ['*行政相对人名称', 'subject_name'],
  ['行政相对人类别', 'subject_category'],
  ['统一社会信用代码', 'subject_uscc'],
  ['组织机构代码', 'subject_org_code'],
  ['法定代表人', 'legal_rep_name'],
  ['证件类型', 'subject_id_type'],
  ['证件号码', 'subject_id_no'],
  ['许可决定书名称', 'decision_doc_title'],
  ['许可文书号', 'decision_doc_no'],
  ['许可类别', 'licence_category'],
  ['证书名称', 'licence_cert_name'],
  ['许可证号', 'licence_no'],
  ['许可内容', 'licence_content'],
  ['发证日期', 'decision_date'],
  ['有效期起', 'valid_from'],
  ['有效期止', 'valid_to'],
  ['发证机关', 'issuing_authority'],
  ['许可机关统一社会信用代码', 'issuing_authority_uscc'],
  ['当前状态', 'status'],
  ['数据来源单位', 'source_unit'],
  ['数据来源单位统一社会信用代码', 'source_unit_uscc'],
  ['备注', 'remarks'],
];

/** Old (2015–2018) template: only the column codes; DFBM/SJC have no catalog field. */
const LICENCE_OLD_BARE = [
  ['XK_WSH', 'decision_doc_no'],
  ['XK_XMMC', 'decision_doc_title'],
  ['XK_SPLB', 'licence_category'],
  ['XK_NR', 'licence_content'],
  ['XK_XDR', 'subject_name'],
  ['XK_XDR_SHXYM', 'subject_uscc'],
  ['XK_XDR_ZDM', 'subject_org_code'],
  ['XK_XDR_GSDJ', 'subject_business_reg_no'],
  ['XK_XDR_SWDJ', 'subject_tax_reg_no'],
  ['XK_XDR_SFZ', 'subject_id_no'],
  ['XK_FR', 'legal_rep_name'],
  ['XK_JDRQ', 'decision_date'],
  ['XK_JZQ', 'valid_to'],
  ['XK_XZJG', 'issuing_authority'],
  ['XK_ZT', 'status'],
  ['DFBM', 'dfbm'],
  ['SJC', 'sjc'],
  ['BZ', 'remarks'],
];
/** The same export after the county's vendor added the two new-template columns it lacked. */
const LICENCE_OLD_EXTENDED = [
  ...LICENCE_OLD_BARE.slice(0, 5),
  ['XK_XDR_LB', 'subject_category'],
  ...LICENCE_OLD_BARE.slice(5, 12),
  ['XK_YXQZ', 'valid_from'],
  ...LICENCE_OLD_BARE.slice(12),
];

// ---------------------------------------------------------------- helpers for dirt
const FULLWIDTH = (s) => s.replace(/[0-9A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));
const spaced = (u) => `${u.slice(0, 2)} ${u.slice(2, 8)} ${u.slice(8)}`;
const hyphenOrg = (o) => `${o.slice(0, 8)}-${o[8]}`;
const cn = (iso) => {
  const [y, m, d] = iso.split('-').map(Number);
  return `${y}年${m}月${d}日`;
};
/** Change the USCC check char to a different (wrong) one. */
function badCheck(code) {
  const alt = code[17] === 'A' ? 'B' : 'A';
  return code.slice(0, 17) + alt;
}
/** An ID whose 18 digits survive only as Excel's 15 significant ones (…000), chosen so it fails the check. */
function roundedId(area) {
  for (;;) {
    const p = person(area);
    const r = `${p.id.slice(0, 15)}000`;
    if (!p.id.endsWith('X') && residentId(r.slice(0, 6), r.slice(6, 14), r.slice(14, 17)) !== r)
      return { ...p, rounded: r };
  }
}
function wrongIdCheck(p) {
  const digits = '0123456789X';
  const alt = digits[(digits.indexOf(p.id[17]) + 3) % 11];
  return { ...p, id: p.id.slice(0, 17) + alt };
}
const doc = (prefix, n, width = 4) => `${prefix}〔2024〕第${String(n).padStart(width, '0')}号`;
const xk = (prefix, n) => `${prefix}〔2024〕${n}号`;

// ---------------------------------------------------------------- subjects
const W = WUCHANG.county;
const wc = (name, opts) => company(name, W, opts);
const WC = {
  xinda: wc('五常市鑫达物流有限公司'),
  hongyun: wc('五常市宏运汽车运输有限责任公司'),
  jinhe: wc('五常市金禾粮食贸易有限公司'),
  longyun: wc('哈尔滨市龙运物流有限公司（五常分公司）'),
  shuntong: wc('五常市顺通出租汽车有限公司'),
  xinglong: wc('五常市兴隆客运有限公司'),
  yongfeng: wc('五常市永丰建材有限公司'),
  anda: wc('五常市安达货运有限公司'),
  huaxin: wc('五常市华鑫砂石料有限公司'),
  zhongcheng: wc('五常市众诚网约车服务有限公司'),
  longfeng: wc('黑龙江龙凤山运输有限公司'),
  daoxiang: wc('五常市稻香米业有限公司'),
  laolin: wc('五常市拉林镇老林货运部', { kind: '92' }),
  shanhe: wc('五常市山河屯镇王记运输户', { kind: '92' }),
  tianyuan: wc('五常市天元汽车租赁有限公司'),
  ruifeng: wc('五常市瑞丰物流有限公司'),
};
const SHANGZHI = company('尚志市恒通运输有限公司', '230183');

// ---------------------------------------------------------------- demo: 五常 penalty 2024Q3
function demoPenalty() {
  const A = WUCHANG;
  let n = 100;
  const next = () => doc('五交罚', ++n);
  const p = () => person(W);
  const usccTypo = overload(A, WC.huaxin, '2024-07-15', 'x', 3000);
  const rows = [
    overload(A, WC.xinda, '2024-07-02', next(), 2000),
    overload(A, WC.hongyun, '2024-07-04', next(), 5000),
    ridehail(A, p(), '2024-07-05', next(), 10000),
    noRoadCert(A, WC.anda, '2024-07-08', next(), 0),
    taxiRefusal(A, p(), '2024-07-09', next(), 200),
    overload(A, WC.jinhe, '2024-07-11', next(), 8000),
    noQualification(A, p(), '2024-07-12', next(), 1000),
    // row 10: the USCC's check character was mistyped
    { ...usccTypo, decision_doc_no: next(), subject_uscc: badCheck(usccTypo.subject_uscc) },
    overload(A, p(), '2024-07-17', next(), 2000, { person: true }),
    unlicensedFreight(A, WC.daoxiang, '2024-07-19', next(), 10000, 3000),
    noRoadCert(A, WC.longyun, '2024-07-22', next(), 200),
    overload(A, WC.laolin, '2024-07-24', next(), 2000),
    ridehail(A, p(), '2024-07-26', next(), 10000),
    overload(A, WC.xinda, '2024-07-30', next(), 5000),
    taxiRefusal(A, p(), '2024-08-01', next(), 500),
    // row 18: 处罚类别 罚款 but 罚款金额 left empty
    { ...overload(A, WC.yongfeng, '2024-08-05', next(), 3000), fine_amount_wan_yuan: '' },
    overload(A, WC.longfeng, '2024-08-07', next(), 15000),
    noQualification(A, p(), '2024-08-09', next(), 500),
    // row 21: a 尚志市 company (registered outside 五常): warning only
    overload(A, SHANGZHI, '2024-08-12', next(), 2000),
    revokeVehicleCert(A, WC.ruifeng, '2024-08-14', next(), '黑交运管哈字230184003317号'),
    overload(A, WC.hongyun, '2024-08-16', next(), 10000),
    ridehail(A, p(), '2024-08-20', next(), 10000),
    // row 25: the driver's ID number has a wrong check digit
    (() => {
      const r = noQualification(A, wrongIdCheck(p()), '2024-08-22', next(), 1000);
      return r;
    })(),
    overload(A, WC.anda, '2024-08-26', next(), 3000),
    taxiRefusal(A, p(), '2024-08-29', next(), 200),
    overload(A, WC.huaxin, '2024-09-03', next(), 30000),
    noRoadCert(A, p(), '2024-09-06', next(), 0, { person: true }),
    overload(A, WC.jinhe, '2024-09-10', next(), 2000),
    unlicensedFreight(A, WC.tianyuan, '2024-09-13', next(), 20000, 5600),
    overload(A, WC.shanhe, '2024-09-20', next(), 5000),
  ];
  return rows;
}

// ---------------------------------------------------------------- demo: 五常 licence 2024Q3
function demoLicence() {
  const A = WUCHANG;
  let n = 40;
  let cert = 1200;
  const next = () => xk('哈五交许字', ++n);
  const p = () => person(W);
  const r = (fn, subj, date) => fn(A, subj, date, next(), ++cert);
  return [
    r(freightLicence, WC.ruifeng, '2024-07-01'),
    r(vehicleCertLicence, WC.ruifeng, '2024-07-01'),
    r(freightDriverLicence, p(), '2024-07-03'),
    r(ridehailCarLicence, WC.zhongcheng, '2024-07-04'),
    r(ridehailDriverLicence, p(), '2024-07-05'),
    r(passengerLicence, WC.xinglong, '2024-07-08'),
    r(taxiLicence, WC.shuntong, '2024-07-10'),
    r(freightLicence, WC.anda, '2024-07-12'),
    r(freightDriverLicence, p(), '2024-07-15'),
    // row 12: a 道路运输证 was issued but 许可编号 is empty
    { ...r(vehicleCertLicence, WC.xinda, '2024-07-17'), licence_no: '' },
    r(ridehailDriverLicence, p(), '2024-07-19'),
    r(freightLicence, WC.laolin, '2024-07-22'),
    r(vehicleCertLicence, WC.hongyun, '2024-07-24'),
    r(ridehailCarLicence, WC.tianyuan, '2024-07-26'),
    r(freightDriverLicence, p(), '2024-07-29'),
    r(vehicleCertLicence, WC.jinhe, '2024-08-01'),
    r(ridehailDriverLicence, p(), '2024-08-05'),
    r(freightLicence, WC.huaxin, '2024-08-08'),
    r(vehicleCertLicence, WC.daoxiang, '2024-08-12'),
    // row 22: 有效期至 typed 2020 instead of 2028 (before 有效期自)
    { ...r(freightLicence, WC.yongfeng, '2024-08-15'), valid_to: '2020-08-14' },
    r(freightDriverLicence, p(), '2024-08-19'),
    r(vehicleCertLicence, WC.longfeng, '2024-08-22'),
    r(ridehailDriverLicence, p(), '2024-08-26'),
    r(freightLicence, WC.shanhe, '2024-08-29'),
    // row 27: the driver's ID number lost a digit (17 digits)
    (() => {
      const d = p();
      return { ...r(freightDriverLicence, d, '2024-09-02'), subject_id_no: d.id.slice(0, 10) + d.id.slice(11) };
    })(),
    r(ridehailCarLicence, WC.zhongcheng, '2024-09-05'),
    r(vehicleCertLicence, WC.anda, '2024-09-10'),
    r(freightDriverLicence, p(), '2024-09-13'),
    r(passengerLicence, WC.longfeng, '2024-09-19'),
    r(vehicleCertLicence, WC.xinda, '2024-09-25'),
  ];
}

// ---------------------------------------------------------------- 集贤 subjects
const J = JIXIAN.county;
const jx = (name, opts) => company(name, J, opts);
const JX = {
  fuli: jx('集贤县福利物流有限公司'),
  xingan: jx('集贤县兴安运输有限责任公司'),
  fengle: jx('集贤县丰乐粮食购销有限公司'),
  shengli: jx('双鸭山市胜利煤炭运输有限公司（集贤分公司）'),
  jixin: jx('集贤县吉鑫出租汽车有限公司'),
  tongda: jx('集贤县通达客运有限公司'),
  hengsheng: jx('集贤县恒盛建材有限公司'),
  sheng: jx('集贤县升平镇老孙货运部', { kind: '92' }),
  yuanfeng: jx('集贤县源丰农机运输有限公司'),
  anxin: jx('集贤县安鑫网约车服务有限公司'),
  baoshan: jx('集贤县宝山煤业运输有限公司'),
  taiping: jx('集贤县太平镇李记运输户', { kind: '92' }),
};
/** Fill the legal representative's ID for a company row (optional columns in the clean files). */
function withRepId(rec, subj) {
  return { ...rec, legal_rep_id_type: '身份证', legal_rep_id_no: subj.repId };
}

function cleanPenaltyJixian() {
  const A = JIXIAN;
  let n = 10;
  const next = () => doc('集交罚', ++n, 3);
  const p = () => person(J);
  return [
    withRepId(overload(A, JX.fuli, '2024-04-02', next(), 2000), JX.fuli),
    withRepId(overload(A, JX.xingan, '2024-04-09', next(), 5000), JX.xingan),
    ridehail(A, p(), '2024-04-11', next(), 10000),
    noRoadCert(A, JX.fengle, '2024-04-16', next(), 0),
    taxiRefusal(A, p(), '2024-04-18', next(), 200),
    withRepId(overload(A, JX.shengli, '2024-04-23', next(), 10000), JX.shengli),
    noQualification(A, p(), '2024-04-25', next(), 1000),
    overload(A, JX.sheng, '2024-05-06', next(), 2000),
    withRepId(unlicensedFreight(A, JX.yuanfeng, '2024-05-09', next(), 10000, 3000), JX.yuanfeng),
    noRoadCert(A, JX.hengsheng, '2024-05-14', next(), 100),
    overload(A, p(), '2024-05-20', next(), 3000, { person: true }),
    withRepId(overload(A, JX.baoshan, '2024-05-23', next(), 30000), JX.baoshan),
    ridehail(A, p(), '2024-05-28', next(), 10000),
    revokeVehicleCert(A, JX.tongda, '2024-06-03', next(), '黑交运管双字230521000871号'),
    overload(A, JX.taiping, '2024-06-06', next(), 2000),
    taxiRefusal(A, p(), '2024-06-12', next(), 500),
    withRepId(overload(A, JX.fuli, '2024-06-14', next(), 8000), JX.fuli),
    noQualification(A, p(), '2024-06-18', next(), 500),
    overload(A, JX.xingan, '2024-06-21', next(), 15000),
    noRoadCert(A, p(), '2024-06-26', next(), 0, { person: true }),
  ];
}

function cleanLicenceJixian() {
  const A = JIXIAN;
  let n = 20;
  let cert = 500;
  const next = () => xk('双集交许字', ++n);
  const p = () => person(J);
  const r = (fn, subj, date, docNo = next()) => fn(A, subj, date, docNo, ++cert);
  let shared = '';
  const sharedDoc = () => {
    shared ||= next(); // one decision approving three drivers: one 文书号, three subjects
    return shared;
  };
  return [
    withRepId(r(freightLicence, JX.fuli, '2024-03-04'), JX.fuli),
    r(vehicleCertLicence, JX.fuli, '2024-03-04'),
    withRepId(r(passengerLicence, JX.tongda, '2024-03-11'), JX.tongda),
    r(taxiLicence, JX.jixin, '2024-03-15'),
    r(ridehailCarLicence, JX.anxin, '2024-03-20'),
    r(ridehailDriverLicence, p(), '2024-03-22'),
    r(freightDriverLicence, p(), '2024-03-27', sharedDoc()),
    r(freightDriverLicence, p(), '2024-03-27', sharedDoc()),
    r(freightDriverLicence, p(), '2024-03-27', sharedDoc()),
    withRepId(r(freightLicence, JX.shengli, '2024-04-02'), JX.shengli),
    r(vehicleCertLicence, JX.xingan, '2024-04-08'),
    r(freightLicence, JX.sheng, '2024-04-12'),
    r(vehicleCertLicence, JX.baoshan, '2024-04-17'),
    r(ridehailDriverLicence, p(), '2024-04-19'),
    withRepId(r(freightLicence, JX.yuanfeng, '2024-04-24'), JX.yuanfeng),
    r(vehicleCertLicence, JX.hengsheng, '2024-05-08'),
    r(freightLicence, JX.taiping, '2024-05-13'),
    r(ridehailCarLicence, JX.anxin, '2024-05-16'),
    r(freightDriverLicence, p(), '2024-05-21'),
    r(vehicleCertLicence, JX.fengle, '2024-05-27'),
  ];
}

// ---------------------------------------------------------------- messy 五常 penalty CSV (GBK)
function messyPenalty() {
  const A = WUCHANG;
  let n = 300;
  const next = () => doc('五交罚', ++n);
  const p = () => person(W);
  const ms = (name, opts) => wc(name, opts);
  const iso = (r) => ({ ...r, publication_end_date: '' });
  const rows = [];
  // line 2: plain ISO dates
  rows.push({ ...overload(A, ms('五常市利民运输有限公司'), '2024-07-02', next(), 2000) });
  // line 3: placeholders / 无 N/A; Chinese dates
  {
    const r = overload(A, ms('五常市福顺达物流有限公司'), '2024-07-05', next(), 5000);
    rows.push({
      ...r,
      subject_business_reg_no: '/',
      subject_org_code: '无',
      remarks: 'N/A',
      cells: {
        decision_date: cn(r.decision_date),
        penalty_valid_until: cn(r.penalty_valid_until),
        publication_end_date: cn(r.publication_end_date),
      },
    });
  }
  // line 4: full-width USCC; YYYYMMDD
  {
    const r = iso(overload(A, ms('五常市隆盛粮油运销有限公司'), '2024-07-08', next(), 3000));
    rows.push({
      ...r,
      subject_uscc: FULLWIDTH(r.subject_uscc),
      cells: { decision_date: '20240708', penalty_valid_until: '20250708' },
    });
  }
  // line 5: spaces in the USCC, hyphen in the org code; YYYY.MM.DD
  {
    const r = iso(noRoadCert(A, ms('五常市广源货运有限公司'), '2024-07-10', next(), 0));
    rows.push({
      ...r,
      subject_uscc: spaced(r.subject_uscc),
      subject_org_code: hyphenOrg(r.subject_org_code),
      cells: { decision_date: '2024.07.10', penalty_valid_until: '2025.07.10' },
    });
  }
  // line 6: ID number turned into 2.30102E+17 by Excel
  rows.push({ ...iso(noQualification(A, person('230102'), '2024-07-11', next(), 1000)), subject_id_no: '2.30102E+17' });
  // line 7: ID number rounded to 15 significant digits (…000)
  {
    const d = roundedId(W);
    rows.push({ ...iso(ridehail(A, d, '2024-07-12', next(), 10000)), subject_id_no: d.rounded });
  }
  // line 8: lower-case x in a valid ID; Excel serial numbers as text
  {
    const d = person(W, { checkX: true });
    rows.push({
      ...iso(taxiRefusal(A, d, '2024-07-05', next(), 200)),
      subject_id_no: d.id.toLowerCase(),
      cells: { decision_date: '45478', penalty_valid_until: '45843' },
    });
  }
  // line 9: YYYY/M/D; 长期
  rows.push({
    ...iso(overload(A, ms('五常市金沙河运输有限公司'), '2024-07-12', next(), 8000)),
    cells: { decision_date: '2024/7/12', penalty_valid_until: '长期' },
  });
  // line 10: local numeric code 02 (法人); date-time text
  rows.push({
    ...iso(overload(A, ms('五常市鸿发建材有限公司'), '2024-07-15', next(), 2000)),
    subject_category: '02',
    cells: { decision_date: '2024-07-15 00:00:00', penalty_valid_until: '2025-07-15 00:00:00' },
  });
  // line 11: two penalty types joined with 、
  rows.push({
    ...iso(noRoadCert(A, ms('五常市龙腾运输有限公司'), '2024-07-16', next(), 200)),
    penalty_types: '警告、罚款',
  });
  // line 12: money with 元 and a thousands comma
  rows.push({
    ...iso(overload(A, ms('五常市盛和达物流有限公司'), '2024-07-18', next(), 2000)),
    fine_amount_wan_yuan: '2,000元',
  });
  // line 13: money with 万元
  rows.push({ ...iso(ridehail(A, p(), '2024-07-19', next(), 10000)), fine_amount_wan_yuan: '1万元' });
  // line 14: 2000 in the 万元 column while 处罚内容 says 罚款2000元
  rows.push({
    ...iso(overload(A, ms('五常市兴源运输有限公司'), '2024-07-22', next(), 2000)),
    fine_amount_wan_yuan: '2000',
  });
  // line 15: a 集贤县 company (outside 五常)
  rows.push(iso(overload(A, company('集贤县腾达物流有限公司', '230521'), '2024-07-23', next(), 5000)));
  // lines 16 and 19: the same decision sent twice, the second with corrected facts
  const dupSubj = ms('五常市聚鑫源运输有限公司');
  const dupDoc = next();
  const dup = iso(overload(A, dupSubj, '2024-07-25', dupDoc, 5000));
  rows.push({ ...dup, violation_facts: dup.violation_facts.replace('构成违法超限运输。', '构成违法超现运输。') });
  // line 17: an old 15-digit ID number
  rows.push({ ...iso(noQualification(A, p(), '2024-07-26', next(), 500)), subject_id_no: '230184720815123' });
  // line 18: an unquoted ASCII comma in 备注 (one field too many)
  {
    const r = iso(overload(A, ms('五常市旺达运输有限公司'), '2024-07-29', next(), 2000));
    rows.push({ ...r, remarks: '罚款已缴纳,已结案', ragged: true });
  }
  rows.push(dup);
  // line 20: decision date in the future (2027 typed for 2024)
  rows.push({ ...iso(overload(A, ms('五常市恒达货运有限公司'), '2027-05-01', next(), 2000)) });
  // line 21: USCC check character wrong
  {
    const r = iso(overload(A, ms('五常市宇通物流有限公司'), '2024-08-02', next(), 3000));
    rows.push({ ...r, subject_uscc: badCheck(r.subject_uscc) });
  }
  // line 22: a natural person given a USCC (their 个体工商户 code)
  {
    const d = p();
    const shop = company(`五常市${d.name}运输户`, W, { kind: '92' });
    rows.push({ ...iso(taxiRefusal(A, d, '2024-08-06', next(), 200)), subject_uscc: shop.uscc });
  }
  // line 23: 违法事实 missing
  rows.push({ ...iso(overload(A, ms('五常市通顺运输有限公司'), '2024-08-08', next(), 2000)), violation_facts: '' });
  // line 24: early Fujian pilot USCC (fails GB 32100, real): warning, and outside the county
  rows.push(
    iso(
      overload(
        A,
        {
          name: '福州闽顺达物流有限公司',
          category: '法人及非法人组织',
          uscc: '91350100M0001TGQXM',
          org: 'M0001TGQX',
          rep: '林志强',
        },
        '2024-08-13',
        next(),
        10000,
      ),
    ),
  );
  // line 25: name damaged by a wrong decode (U+FFFD)
  rows.push({ ...iso(overload(A, ms('五常市鑫\uFFFD\uFFFD物流有限公司'), '2024-08-15', next(), 2000)) });
  // line 26: free-text category 个人
  rows.push({ ...iso(noQualification(A, p(), '2024-08-19', next(), 1000)), subject_category: '个人' });
  // line 27: free-text category 企业
  rows.push({
    ...iso(overload(A, ms('五常市万通达运输有限公司'), '2024-08-21', next(), 5000)),
    subject_category: '企业',
  });
  // line 28: spaces inside an ID number
  {
    const d = p();
    rows.push({
      ...iso(ridehail(A, d, '2024-08-26', next(), 10000)),
      subject_id_no: `${d.id.slice(0, 6)} ${d.id.slice(6, 14)} ${d.id.slice(14)}`,
    });
  }
  // line 29: company without 法定代表人 (placeholder /)
  rows.push({ ...iso(overload(A, ms('五常市德顺物流有限公司'), '2024-09-02', next(), 2000)), legal_rep_name: '/' });
  // line 30: 10,000元
  rows.push({ ...iso(ridehail(A, p(), '2024-09-05', next(), 10000)), fine_amount_wan_yuan: '10,000元' });
  return rows;
}

// ---------------------------------------------------------------- 集贤 penalty in 元 (for LibreOffice)
function yuanPenalty() {
  const A = JIXIAN;
  let n = 60;
  const next = () => doc('集交罚', ++n, 3);
  const p = () => person(J);
  const inYuan = (r) => ({
    ...r,
    fine_amount_wan_yuan: r.fine_amount_wan_yuan === '' ? '' : Math.round(Number(r.fine_amount_wan_yuan) * 10000),
    confiscation_amount_wan_yuan:
      r.confiscation_amount_wan_yuan === '' ? '' : Math.round(Number(r.confiscation_amount_wan_yuan) * 10000),
  });
  const longRep =
    '孙德福（营业执照登记信息：名称集贤县鹏程运输有限公司，类型有限责任公司（自然人投资或控股），住所黑龙江省双鸭山市集贤县福利镇新华街道中心路东段12号，注册资本伍佰万元整，成立日期2016年04月18日，营业期限长期，经营范围：道路普通货物运输；货物专用运输（集装箱、冷藏保鲜）；大型物件运输；煤炭、建材、农副产品销售；仓储服务（不含危险化学品）；装卸搬运；汽车租赁；汽车维修；货运代理；信息咨询服务。依法须经批准的项目，经相关部门批准后方可开展经营活动。股东：孙德福（持股百分之六十）、孙德禄（持股百分之四十）；登记机关：集贤县市场监督管理局；核准日期：2023年03月02日；登记状态：存续（在营、开业、在册）。）';
  const rows = [
    inYuan(overload(A, jx('集贤县顺发运输有限公司'), '2024-07-03', next(), 2000)),
    inYuan(overload(A, jx('集贤县龙源煤炭运销有限公司'), '2024-07-09', next(), 30000)),
    inYuan(noRoadCert(A, jx('集贤县平安货运有限公司'), '2024-07-12', next(), 0)),
    inYuan(taxiRefusal(A, p(), '2024-07-16', next(), 200)),
    // row 6: 罚款金额 not filled in yet
    { ...inYuan(overload(A, jx('集贤县庆丰物流有限公司'), '2024-07-19', next(), 5000)), fine_amount_wan_yuan: '待定' },
    // row 7: the whole business-licence text pasted into 法定代表人
    { ...inYuan(overload(A, jx('集贤县鹏程运输有限公司'), '2024-07-24', next(), 2000)), legal_rep_name: longRep },
    // row 8: a measure that is not a penalty type
    {
      ...inYuan(noRoadCert(A, jx('集贤县宏达客运有限公司'), '2024-07-30', next(), 0)),
      penalty_types: '扣分',
      penalty_content: '驾驶员记3分',
    },
    inYuan(overload(A, jx('集贤县金穗粮食运输有限公司'), '2024-08-02', next(), 5000)),
    inYuan(unlicensedFreight(A, jx('集贤县永兴农机服务有限公司'), '2024-08-07', next(), 10000, 3000)),
    // row 11: letter O typed for zero in the USCC (O is not in the USCC alphabet)
    (() => {
      const r = inYuan(overload(A, jx('集贤县东升物流有限公司'), '2024-08-13', next(), 2000));
      const u = r.subject_uscc;
      const at = u.indexOf('0', 8) > 0 ? u.indexOf('0', 8) : 8;
      return { ...r, subject_uscc: `${u.slice(0, at)}O${u.slice(at + 1)}`, subject_org_code: '' };
    })(),
    inYuan(overload(A, jx('集贤县兴安镇赵记货运部', { kind: '92' }), '2024-08-20', next(), 2000)),
    inYuan(ridehail(A, p(), '2024-08-27', next(), 10000)),
  ];
  return rows;
}

// ---------------------------------------------------------------- messy 五常 licence workbook
function messyLicence() {
  const A = WUCHANG;
  let n = 200;
  let cert = 2200;
  const next = () => xk('哈五交许字', ++n);
  const p = () => person(W);
  const r = (fn, subj, date, docNo = next()) => fn(A, subj, date, docNo, ++cert);
  const ms = (name, opts) => wc(name, opts);
  const rows = [];
  rows.push(r(freightLicence, ms('五常市嘉禾物流有限公司'), '2024-07-01')); // 5
  const dupBase = r(vehicleCertLicence, ms('五常市丰源运输有限公司'), '2024-07-02');
  rows.push({ ...dupBase, licence_category: '01', status: '1' }); // 6 (loses to 18, same content)
  {
    const d = p();
    const x = r(freightDriverLicence, d, '2024-07-03');
    rows.push({ ...x, cells: { valid_to: cn(x.valid_to) } }); // 7
  }
  {
    const d = roundedId(W);
    rows.push({ ...r(freightDriverLicence, d, '2024-07-04'), cells: { subject_id_no: Number(d.rounded) } }); // 8
  }
  rows.push({ ...r(ridehailDriverLicence, p(), '2024-07-08'), cells: { subject_id_no: 230184761203141 } }); // 9
  rows.push({
    ...r(taxiLicence, ms('五常市祥瑞出租汽车有限公司'), '2024-07-17'),
    cells: { decision_date: 45490, valid_to: '长期' },
  }); // 10
  {
    const x = r(passengerLicence, ms('五常市通达客运有限责任公司'), '2024-07-22');
    rows.push({ ...x, cells: { decision_date: '2024/07/22', valid_from: '2024-07-22' } }); // 11
  }
  rows.push({ ...r(freightLicence, ms('五常市宏泰货运有限公司'), '2024-07-25'), cells: { valid_from: '2024-O7-25' } }); // 12
  rows.push({
    ...r(vehicleCertLicence, ms('五常市益民运输有限公司'), '2024-07-01'),
    cells: { decision_date: '2024/06/31' },
  }); // 13
  rows.push({ ...r(freightLicence, ms('五常市长青物流有限公司'), '2024-08-01'), valid_to: '2020-07-31' }); // 14
  rows.push({ ...r(vehicleCertLicence, ms('五常市兴旺运输有限公司'), '2024-08-05'), licence_category: '年审' }); // 15
  {
    const x = r(ridehailCarLicence, ms('五常市易达网约车服务有限公司'), '2024-08-07');
    rows.push({ ...x, subject_org_code: x.subject_uscc }); // 16
  }
  rows.push({ ...r(vehicleCertLicence, ms('五常市吉祥运输有限公司'), '2024-08-09'), licence_no: '' }); // 17
  rows.push({
    ...dupBase,
    cells: {
      decision_date: dupBase.decision_date.replaceAll('-', '/'),
      valid_from: dupBase.valid_from.replaceAll('-', '/'),
      valid_to: dupBase.valid_to.replaceAll('-', '/'),
    },
  }); // 18
  rows.push(r(freightLicence, ms('五常市鑫源物流有限公司'), '2027-05-01')); // 19
  rows.push(r(ridehailCarLicence, ms('五常市畅行网约车服务有限公司'), '2024-08-14')); // 20
  rows.push(r(freightLicence, ms('五常市民乐乡张记运输户', { kind: '92' }), '2024-08-16')); // 21
  {
    const x = r(passengerLicence, ms('五常市安顺客运有限公司'), '2024-08-20');
    rows.push({ ...x, subject_uscc: x.subject_uscc.slice(0, 10) + x.subject_uscc.slice(11), subject_org_code: '' }); // 22
  }
  {
    const x = r(freightLicence, ms('五常市恒运物流有限公司'), '2024-08-23');
    const o = x.subject_org_code;
    const wrong = o[8] === '1' ? '2' : '1';
    rows.push({ ...x, subject_org_code: `${o.slice(0, 8)}-${wrong}` }); // 23
  }
  rows.push({
    ...r(vehicleCertLicence, ms('五常市顺达运输有限公司(拉林分公司)'), '2024-08-27'),
    licence_category: '普通',
    status: '1',
  }); // 24
  return rows;
}

function oldTemplateRows(extended) {
  const A = JIXIAN;
  let n = 70;
  const next = () => `双集交许字〔2023〕${++n}号`;
  const old = (name, body, gsdj) => {
    const c = company(name, J, { body });
    return { ...c, gsdj, swdj: `${J}${c.org}` };
  };
  const subjects = [
    old('集贤县福源运输有限公司', '24681357', '230521100003517'),
    old('集贤县鑫盛物流有限责任公司', '30275518', '230521100004826'),
    old('集贤县丰收粮食运销有限公司', '12763541', '230521100002264'),
    old('集贤县宏发客运有限公司', '55873102', '230521100001093'),
    old('集贤县金源建材运输有限公司', '67124839', '230521100005571'),
    old('集贤县永安出租汽车有限公司', '43318275', '230521100006318'),
    old('集贤县恒通货运有限公司', '58201746', '230521100007402'),
    old('集贤县光明农机运输有限公司', '61937024', '230521100003985'),
  ];
  const items = [
    ['道路货物运输经营许可', '道路普通货物运输', 4],
    ['道路货物运输经营许可', '道路普通货物运输；大型物件运输', 4],
    ['道路货物运输经营许可', '道路普通货物运输', 4],
    ['道路旅客运输经营许可', '县内班车客运', 4],
    ['道路货物运输经营许可', '道路普通货物运输', 4],
    ['出租汽车经营许可', '巡游出租汽车客运', 0],
    ['道路货物运输经营许可', '货物专用运输（集装箱）', 4],
    ['道路货物运输经营许可', '道路普通货物运输', 4],
  ];
  const dates = [
    '2023-09-04',
    '2023-09-11',
    '2023-09-19',
    '2023-10-09',
    '2023-10-16',
    '2023-10-25',
    '2023-11-06',
    '2023-11-14',
  ];
  return subjects.map((s, i) => {
    const [title, content, years] = items[i];
    const date = dates[i];
    return {
      decision_doc_no: next(),
      decision_doc_title: title,
      licence_category: '普通',
      licence_content: content,
      subject_name: s.name,
      subject_category: '法人及非法人组织',
      // the last row: the all-zero placeholder some systems export for "no USCC"
      subject_uscc: extended && i === 7 ? '00000000000000000X' : s.uscc,
      subject_org_code: hyphenOrg(s.org),
      subject_business_reg_no: s.gsdj,
      subject_tax_reg_no: s.swdj,
      subject_id_no: '',
      legal_rep_name: s.rep,
      decision_date: date,
      valid_from: date,
      valid_to: years ? isoPlus(date, { years, days: -1 }) : '长期',
      issuing_authority: A.name,
      status: '有效',
      dfbm: J,
      sjc: `${isoPlus(date, { days: 3 })} 16:${String(10 + i * 5).padStart(2, '0')}:05`,
      remarks: '',
    };
  });
}

// ---------------------------------------------------------------- refuse: HTML and XML 2003 "Excel"
function htmlTable(rows) {
  const esc = (s) => String(s).replaceAll('&', '&amp;').replaceAll('<', '&lt;');
  const head = PENALTY_STANDARD.map(([h]) => `<td>${esc(h)}</td>`).join('');
  const body = rows
    .map(
      (r) =>
        `<tr>${PENALTY_STANDARD.map(([, f]) => `<td style="mso-number-format:'\\@'">${esc(r[f] ?? '')}</td>`).join('')}</tr>`,
    )
    .join('\r\n');
  return `<html xmlns:o="urn:schemas-microsoft-com:office:office" xmlns:x="urn:schemas-microsoft-com:office:excel" xmlns="http://www.w3.org/TR/REC-html40">\r\n<head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"><!--[if gte mso 9]><xml><x:ExcelWorkbook><x:ExcelWorksheets><x:ExcelWorksheet><x:Name>行政处罚</x:Name></x:ExcelWorksheet></x:ExcelWorksheets></x:ExcelWorkbook></xml><![endif]--></head>\r\n<body><table border="1">\r\n<tr>${head}</tr>\r\n${body}\r\n</table></body></html>\r\n`;
}

function xml2003(rows) {
  const esc = (s) => String(s).replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('"', '&quot;');
  const row = (cells) =>
    `   <Row>\n${cells.map((c) => `    <Cell><Data ss:Type="String">${esc(c)}</Data></Cell>`).join('\n')}\n   </Row>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<?mso-application progid="Excel.Sheet"?>
<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" xmlns:o="urn:schemas-microsoft-com:office:office" xmlns:x="urn:schemas-microsoft-com:office:excel" xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet" xmlns:html="http://www.w3.org/TR/REC-html40">
 <DocumentProperties xmlns="urn:schemas-microsoft-com:office:office"><Author>五常市交通运输局</Author><Created>2024-10-08T09:00:00Z</Created></DocumentProperties>
 <Worksheet ss:Name="行政处罚">
  <Table>
${row(PENALTY_STANDARD.map(([h]) => h))}
${rows.map((r) => row(PENALTY_STANDARD.map(([, f]) => r[f] ?? ''))).join('\n')}
  </Table>
 </Worksheet>
</Workbook>
`;
}

// ---------------------------------------------------------------- write everything
async function main() {
  const soffice = hasSoffice();
  const log = (f) => console.log(`wrote ${f}`);

  // demo
  const demoPen = join(DEMO, '五常市交通运输局-行政处罚-2024Q3.xlsx');
  await writeWorkbook(demoPen, (wb) =>
    addSheet(wb, '行政处罚', PENALTY_DEMO, demoPenalty(), {
      above: ['五常市交通运输局行政处罚信息公示表（2024年第三季度）'],
    }),
  );
  log(demoPen);
  const demoLic = join(DEMO, '五常市交通运输局-行政许可-2024Q3.xlsx');
  await writeWorkbook(demoLic, (wb) =>
    addSheet(wb, '行政许可', LICENCE_DEMO, demoLicence(), {
      above: ['五常市交通运输局行政许可信息公示表（2024年第三季度）'],
    }),
  );
  log(demoLic);

  // county: CSV
  const penClean = join(COUNTY, 'penalty-clean.csv');
  writeCsv(penClean, PENALTY_STANDARD, cleanPenaltyJixian(), { bom: true });
  log(penClean);

  const penMessy = join(COUNTY, 'penalty-messy-gbk.csv');
  const messy = messyPenalty();
  const cols = PENALTY_MESSY;
  for (const rec of messy) {
    for (const [, f] of cols) {
      const v = rec.cells?.[f] ?? rec[f] ?? '';
      if (/[",\r\n]/.test(String(v)) && !(rec.ragged && f === 'remarks') && !String(v).includes('元'))
        throw new Error(`unexpected comma/quote in ${f}: ${v}`);
    }
    // Money cells with thousands commas are quoted (as Excel writes them); the ragged row's 备注 is not.
    rec.rawLine = cols
      .map(([, f]) => {
        const v = String(rec.cells && f in rec.cells ? rec.cells[f] : (rec[f] ?? ''));
        return v.includes(',') && !(rec.ragged && f === 'remarks') ? `"${v}"` : v;
      })
      .join(',');
  }
  writeCsv(penMessy, PENALTY_MESSY, messy, { encoding: 'gb18030' });
  log(penMessy);

  // county: licence workbooks
  const licClean = join(COUNTY, 'license-clean.xlsx');
  await writeWorkbook(licClean, (wb) => addSheet(wb, '行政许可', LICENCE_STANDARD, cleanLicenceJixian()));
  log(licClean);

  const licMessy = join(COUNTY, 'license-messy.xlsx');
  await writeWorkbook(licMessy, (wb) => {
    const ws = addSheet(wb, '许可信息', LICENCE_MESSY, messyLicence(), {
      above: [
        '五常市交通运输局行政许可信息汇总表',
        '填报说明：带*号为必填项；日期格式为YYYY/MM/DD；有效期为长期的填写“长期”；证件号码请设置为文本格式。',
        '填报单位（盖章）：五常市交通运输局                                  填报日期：2024年10月8日',
      ],
      below: [[], [], ['制表人：刘春梅    审核人：赵国强    联系电话：0451-53522317']],
    });
    ws.getRow(1).height = 30;
    const notes = wb.addWorksheet('填报说明');
    [
      '行政许可信息填报说明',
      '一、本表按季度报送，报送时间为季度结束后7个工作日内。',
      '二、行政相对人为法人及非法人组织的，统一社会信用代码和法定代表人必须填写。',
      '三、行政相对人为自然人的，证件类型和证件号码必须填写，统一社会信用代码不填。',
      '四、日期统一填写为YYYY/MM/DD格式，有效期为长期的填写“长期”。',
    ].forEach((t) => {
      notes.addRow([t]);
    });
  });
  log(licMessy);

  const licOld = join(COUNTY, 'license-old-template.xlsx');
  await writeWorkbook(licOld, (wb) =>
    addSheet(wb, 'Sheet1', LICENCE_OLD_EXTENDED, oldTemplateRows(true), { fmtDate: (s) => s }),
  );
  log(licOld);

  // refuse
  const bare = join(REFUSE, 'license-old-template-bare.xlsx');
  await writeWorkbook(bare, (wb) =>
    addSheet(wb, 'Sheet1', LICENCE_OLD_BARE, oldTemplateRows(false).slice(0, 5), { fmtDate: (s) => s }),
  );
  log(bare);
  const few = demoPenaltySample();
  writeFileSync(join(REFUSE, 'penalty-saved-as-html.xlsx'), htmlTable(few));
  log('refuse/penalty-saved-as-html.xlsx');
  writeFileSync(join(REFUSE, 'penalty-xml2003.xls'), xml2003(few));
  log('refuse/penalty-xml2003.xls');
  writeFileSync(
    join(REFUSE, 'no-header.csv'),
    `\uFEFF${[
      '五常市营运车辆台账（截至2024年9月30日）,,,',
      '黑A3K721,重型半挂牵引车,49吨,五常市鑫达物流有限公司',
      '黑A5M208,重型厢式货车,18吨,五常市安达货运有限公司',
      '黑A8Q615,小型轿车,5座,五常市众诚网约车服务有限公司',
      '黑A2T390,大型普通客车,45座,五常市兴隆客运有限公司',
    ].join('\r\n')}\r\n`,
  );
  log('refuse/no-header.csv');
  await writeWorkbook(join(REFUSE, 'empty.xlsx'), (wb) => wb.addWorksheet('Sheet1'));
  log('refuse/empty.xlsx');

  // LibreOffice: sources are exceljs workbooks; LibreOffice re-saves them with its own writer.
  const work = mkdtempSync(join(tmpdir(), 'guiji-fixture-src-'));
  const yuanSrc = join(work, 'penalty-libreoffice.xlsx');
  await writeWorkbook(yuanSrc, (wb) =>
    addSheet(wb, '行政处罚', PENALTY_YUAN, yuanPenalty(), { dateNumFmt: 'yyyy-mm-dd' }),
  );
  if (soffice) {
    sofficeConvert(yuanSrc, 'xlsx', join(COUNTY, 'penalty-libreoffice.xlsx'));
    log('county/penalty-libreoffice.xlsx');
    sofficeConvert(licMessy, 'xlsx', join(COUNTY, 'license-messy-libreoffice.xlsx'));
    log('county/license-messy-libreoffice.xlsx');
    sofficeConvert(demoPen, 'xls:MS Excel 97', join(REFUSE, 'penalty-biff.xls'));
    log('refuse/penalty-biff.xls');
  } else {
    console.warn('soffice not found: LibreOffice-saved fixtures left as they are');
  }
  rmSync(work, { recursive: true, force: true });
}

/** Three demo penalty rows, for the files that must be refused whatever they hold. */
function demoPenaltySample() {
  const A = WUCHANG;
  return [
    overload(A, WC.xinda, '2024-07-02', '五交罚〔2024〕第0101号', 2000),
    overload(A, WC.hongyun, '2024-07-04', '五交罚〔2024〕第0102号', 5000),
    taxiRefusal(
      A,
      { name: '王建国', id: residentId('230184', '19760312', '215') },
      '2024-07-09',
      '五交罚〔2024〕第0105号',
      200,
    ),
  ];
}

await main();

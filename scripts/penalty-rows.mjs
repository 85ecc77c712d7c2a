// Deterministic synthetic 行政处罚 (admin-penalty) records for benchmarks and large-file tests.
// Shared by gen-penalty-csv.mjs and gen-penalty-xlsx.mjs so both formats carry the same content.
// Identifiers carry correct check characters (domain.md §2); ~1% of rows get one defect and
// ~0.5% repeat an earlier row's natural key, so rejection and dedup paths run at scale.

/** The 30 items of domain.md §1.4, as the national template spells its header. */
export const PENALTY_HEADERS = [
  '行政相对人名称',
  '行政相对人类别',
  '行政相对人代码_1(统一社会信用代码)',
  '行政相对人代码_2(工商注册号)',
  '行政相对人代码_3(组织机构代码)',
  '行政相对人代码_4(税务登记号)',
  '行政相对人代码_5(事业单位证书号)',
  '行政相对人代码_6(社会组织登记证号)',
  '法定代表人',
  '法定代表人证件类型',
  '法定代表人证件号码',
  '证件类型',
  '证件号码',
  '行政处罚决定书文号',
  '违法行为类型',
  '违法事实',
  '处罚依据',
  '处罚类别',
  '处罚内容',
  '罚款金额（万元）',
  '没收违法所得、没收非法财物的金额（万元）',
  '暂扣或吊销证照名称及编号',
  '处罚决定日期',
  '处罚有效期',
  '公示截止期',
  '处罚机关',
  '处罚机关统一社会信用代码',
  '数据来源单位',
  '数据来源单位统一社会信用代码',
  '备注',
];

/** Column indexes (0-based) used below and by the xlsx writer. */
export const COL = {
  name: 0,
  category: 1,
  uscc: 2,
  orgCode: 4,
  legalRep: 8,
  legalRepIdType: 9,
  legalRepIdNo: 10,
  idType: 11,
  idNo: 12,
  docNo: 13,
  violationType: 14,
  facts: 15,
  basis: 16,
  types: 17,
  content: 18,
  fine: 19,
  confiscation: 20,
  licence: 21,
  decisionDate: 22,
  validUntil: 23,
  publicationEnd: 24,
  authority: 25,
  authorityUscc: 26,
  sourceUnit: 27,
  sourceUnitUscc: 28,
  remarks: 29,
};
/** Columns holding dates (YYYY/MM/DD strings) and money (万元). */
export const DATE_COLS = [COL.decisionDate, COL.validUntil, COL.publicationEnd];
export const MONEY_COLS = [COL.fine, COL.confiscation];
/** Columns that are codes (must stay text in Excel). */
export const CODE_COLS = [
  COL.uscc,
  COL.orgCode,
  COL.legalRepIdNo,
  COL.idNo,
  COL.docNo,
  COL.authorityUscc,
  COL.sourceUnitUscc,
];

// ---- check characters (domain.md §2) ----

const USCC_ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const USCC_VALUE = new Map([...USCC_ALPHABET].map((c, i) => [c, i]));
const USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
const ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2];
const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK = '10X98765432';

/** GB 11714 check char of an 8-char organisation-code body (full A–Z alphabet). */
export function orgCheck(body) {
  let s = 0;
  for (let i = 0; i < 8; i++) s += Number.parseInt(body[i], 36) * ORG_WEIGHTS[i];
  const c = 11 - (s % 11);
  return c === 10 ? 'X' : c === 11 ? '0' : String(c);
}

/** GB 32100 check char of the first 17 USCC characters. */
export function usccCheck(first17) {
  let s = 0;
  for (let i = 0; i < 17; i++) s += USCC_VALUE.get(first17[i]) * USCC_WEIGHTS[i];
  return USCC_ALPHABET[(31 - (s % 31)) % 31];
}

/** GB 11643 check char of the first 17 digits of a resident ID. */
export function idCheck(first17) {
  let s = 0;
  for (let i = 0; i < 17; i++) s += (first17.charCodeAt(i) - 48) * ID_WEIGHTS[i];
  return ID_CHECK[s % 11];
}

// ---- deterministic randomness ----

/** mulberry32: tiny, fast, deterministic PRNG returning [0, 1). */
function makeRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---- vocabularies ----

const COUNTY = '230184';
const COUNTY_NAME = '五常市';
const OTHER_DIVISIONS = ['230102', '230103', '230108', '230182', '230183', '230124'];
const SURNAMES =
  '王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文';
const GIVEN =
  '伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红建国建华志强春梅海燕淑珍凤兰玉梅德明文博宇航子涵浩然雨萱一鸣晓东立新';
const FIRM_WORDS = [
  '宏达',
  '顺通',
  '鑫源',
  '华盛',
  '恒泰',
  '兴隆',
  '金山',
  '龙江',
  '北方',
  '天和',
  '盛世',
  '永安',
  '瑞丰',
  '通达',
  '广源',
  '远航',
  '新程',
  '安顺',
  '福运',
  '长青',
  '嘉禾',
  '润泽',
  '东升',
  '凯旋',
];
const FIRM_TRADES = [
  '物流',
  '运输',
  '汽车运输',
  '客运',
  '货运',
  '出租汽车',
  '机动车维修',
  '驾驶员培训',
  '汽车租赁',
  '工程机械',
  '建材',
  '粮食贸易',
  '商贸',
];
const FIRM_FORMS = ['有限公司', '有限责任公司', '股份有限公司', '运输队', '专业合作社'];
const SHOP_TRADES = ['汽车修理部', '运输服务部', '货运信息部', '汽配商店', '洗车行', '客运站点'];
const VIOLATIONS = [
  ['未取得道路运输经营许可，擅自从事道路运输经营', '《中华人民共和国道路运输条例》第六十三条'],
  ['道路运输车辆超限超载运输', '《公路安全保护条例》第六十六条'],
  ['未按规定携带车辆营运证', '《中华人民共和国道路运输条例》第六十八条'],
  ['不按批准的客运站点停靠或者不按规定的线路行驶', '《中华人民共和国道路运输条例》第七十条'],
  ['机动车维修经营者签发虚假的机动车维修合格证', '《中华人民共和国道路运输条例》第七十二条'],
  ['客运经营者强行招揽旅客', '《中华人民共和国道路运输条例》第六十九条'],
  ['未按规定维护和检测运输车辆', '《中华人民共和国道路运输条例》第七十条'],
  ['擅自改装已取得车辆营运证的车辆', '《中华人民共和国道路运输条例》第七十条'],
  ['出租汽车驾驶员拒载、议价', '《巡游出租汽车经营服务管理规定》第四十八条'],
  ['驾驶员培训机构未按规定组织教学', '《机动车驾驶员培训管理规定》第五十一条'],
];
const PLACES = [
  'G1011哈同高速五常段',
  'S102省道五常收费站',
  '五常市人民大街',
  '五常市客运站',
  '山河镇',
  '拉林镇',
  '向阳镇',
  '龙凤山镇',
  '牛家满族镇',
];
const AUTHORITIES = [
  ['五常市交通运输局', '11230184', '五交'],
  ['五常市交通运输综合行政执法大队', '12230184', '五交执'],
  ['五常市道路运输管理站', '12230184', '五运'],
];
const SOURCE_UNIT = '五常市交通运输局';
const LICENCE_NAMES = ['道路运输经营许可证', '道路运输证', '机动车维修经营备案证明', '从业资格证'];

const pad = (n, w) => String(n).padStart(w, '0');

/** Date strings YYYY/MM/DD for every day from 2018-01-01 to 2099-12-31, by day index. */
function makeDayTable() {
  const out = [];
  const start = Date.UTC(2018, 0, 1);
  const end = Date.UTC(2100, 0, 1);
  for (let t = start; t < end; t += 86_400_000) {
    const d = new Date(t);
    out.push(`${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1, 2)}/${pad(d.getUTCDate(), 2)}`);
  }
  return out;
}

/**
 * A deterministic generator of penalty rows.
 * `next()` returns the next row as an array of 30 strings (empty string = empty cell).
 * Stats on what was planted are kept in `stats`.
 */
export function makePenaltyGenerator(seed = 1) {
  const rnd = makeRandom(seed);
  const int = (n) => Math.floor(rnd() * n);
  const pick = (arr) => arr[int(arr.length)];
  const days = makeDayTable();
  // Decision dates 2019-01-01 … 2026-06-30 (index into the day table).
  const decisionFrom = 365;
  const decisionSpan = 365 * 7 + 180;
  const longTerm = days.length - 1; // 2099/12/31

  const randomOrgBody = (lettered) => {
    let body = lettered ? `MA${USCC_ALPHABET[10 + int(21)]}` : '';
    while (body.length < 8) body += USCC_ALPHABET[int(lettered ? 31 : 10)];
    return body;
  };
  const makeUscc = (prefix, division) => {
    const body = randomOrgBody(rnd() < 0.7);
    const first17 = `${prefix}${division}${body}${orgCheck(body)}`;
    return first17 + usccCheck(first17);
  };
  const makeId = () => {
    // A day of 2018–2045 moved back 60 years keeps leap days valid (no century year in between).
    const d = days[int(365 * 28)];
    const birth = `${Number(d.slice(0, 4)) - 60}${d.slice(5, 7)}${d.slice(8, 10)}`;
    const first17 = `${COUNTY}${birth}${pad(int(1000), 3)}`;
    return first17 + idCheck(first17);
  };
  const personName = () => pick(SURNAMES) + pick(GIVEN) + (rnd() < 0.6 ? pick(GIVEN) : '');

  const authorities = AUTHORITIES.map(([name, head, short]) => {
    const body = randomOrgBody(false);
    const first17 = `${head}${body}${orgCheck(body)}`;
    return { name, uscc: first17 + usccCheck(first17), short };
  });
  const sourceUscc = authorities[0].uscc;

  const recent = []; // ring of recent rows for in-file duplicates
  const RECENT = 512;
  let n = 0;
  const stats = { rows: 0, defects: 0, duplicates: 0 };

  function freshRow() {
    n++;
    const r = new Array(30).fill('');
    const kind = rnd();
    if (kind < 0.6) {
      const name = `${COUNTY_NAME}${pick(FIRM_WORDS)}${pick(FIRM_TRADES)}${pick(FIRM_FORMS)}`;
      r[COL.name] = rnd() < 0.1 ? name.replace('有限公司', '（五常）有限公司') : name;
      r[COL.category] = '法人及非法人组织';
      const division = rnd() < 0.95 ? COUNTY : pick(OTHER_DIVISIONS);
      const uscc = makeUscc('91', division);
      r[COL.uscc] = uscc;
      if (rnd() < 0.3) r[COL.orgCode] = uscc.slice(8, 17);
      r[COL.legalRep] = personName();
      if (rnd() < 0.4) {
        r[COL.legalRepIdType] = '身份证';
        r[COL.legalRepIdNo] = makeId();
      }
    } else if (kind < 0.8) {
      r[COL.name] = `${COUNTY_NAME}${pick(FIRM_WORDS)}${pick(SHOP_TRADES)}`;
      r[COL.category] = '个体工商户';
      r[COL.uscc] = makeUscc('92', COUNTY);
      r[COL.legalRep] = personName();
    } else {
      r[COL.name] = personName();
      r[COL.category] = '自然人';
      r[COL.idType] = '身份证';
      r[COL.idNo] = makeId();
    }
    const auth = authorities[int(authorities.length)];
    const dayIdx = decisionFrom + int(decisionSpan);
    const year = days[dayIdx].slice(0, 4);
    r[COL.docNo] = `${auth.short}罚〔${year}〕${pad(n, 7)}号`;
    const [violation, basis] = pick(VIOLATIONS);
    r[COL.violationType] = violation;
    const facts = `当事人于${days[dayIdx - 1 - int(30)]}在${pick(PLACES)}${violation}，经调查属实。`;
    // A few facts quote the vehicle plate with ASCII quotes and commas, as clerks paste them.
    r[COL.facts] = rnd() < 0.02 ? `${facts} 车牌号"黑A${pad(int(100000), 5)}", 已责令改正。` : facts;
    r[COL.basis] = basis;
    const t = rnd();
    let yuan = 0;
    let confiscated = 0;
    let types;
    if (t < 0.7) {
      types = '罚款';
      yuan = (1 + int(50)) * 100 * (rnd() < 0.2 ? 10 : 1);
    } else if (t < 0.8) {
      types = '警告;罚款';
      yuan = (1 + int(20)) * 100;
    } else if (t < 0.88) {
      types = '警告';
    } else if (t < 0.95) {
      types = '没收违法所得;罚款';
      yuan = (1 + int(30)) * 1000;
      confiscated = (1 + int(500)) * 10;
    } else {
      types = '暂扣许可证件;罚款';
      yuan = (1 + int(10)) * 1000;
      r[COL.licence] = `${pick(LICENCE_NAMES)} 黑交运管许可哈字${COUNTY}${pad(int(1_000_000), 6)}号`;
    }
    r[COL.types] = types;
    const parts = [];
    if (types.includes('警告')) parts.push('警告');
    if (confiscated) parts.push(`没收违法所得人民币${confiscated}元`);
    if (yuan) parts.push(`罚款人民币${yuan}元`);
    if (r[COL.licence]) parts.push(`暂扣${r[COL.licence].split(' ')[0]}三个月`);
    r[COL.content] = parts.join('，');
    if (yuan) r[COL.fine] = String(yuan / 10000);
    if (confiscated) r[COL.confiscation] = String(confiscated / 10000);
    r[COL.decisionDate] = days[dayIdx];
    r[COL.validUntil] = rnd() < 0.1 ? days[longTerm] : days[dayIdx + 7 + int(60)];
    if (rnd() < 0.7) r[COL.publicationEnd] = days[dayIdx + 365];
    r[COL.authority] = auth.name;
    r[COL.authorityUscc] = auth.uscc;
    r[COL.sourceUnit] = SOURCE_UNIT;
    r[COL.sourceUnitUscc] = sourceUscc;
    if (rnd() < 0.05) r[COL.remarks] = '已缴纳罚款';
    return r;
  }

  /** Break one rule so the row must be rejected (kept apart from the duplicate ring). */
  function plantDefect(r) {
    const d = int(3);
    if (d === 0 && r[COL.uscc]) {
      const c = r[COL.uscc];
      const last = USCC_ALPHABET[(USCC_VALUE.get(c[17]) + 1 + int(30)) % 31];
      r[COL.uscc] = c.slice(0, 17) + last;
    } else if (d === 0) {
      const c = r[COL.idNo];
      r[COL.idNo] = c.slice(0, 17) + (c[17] === '1' ? '2' : '1');
    } else if (d === 1) {
      r[COL.facts] = '';
    } else {
      r[COL.decisionDate] = `${r[COL.decisionDate].slice(0, 4)}/13/${pad(1 + int(28), 2)}`;
    }
  }

  function next() {
    stats.rows++;
    const u = rnd();
    if (u < 0.005 && recent.length > 0) {
      // Same natural key as an earlier row; half of them with changed content (a re-sent, edited row).
      stats.duplicates++;
      const r = recent[int(recent.length)].slice();
      if (rnd() < 0.5) r[COL.remarks] = '更正后重新报送';
      return r;
    }
    const r = freshRow();
    if (u > 0.99) {
      stats.defects++;
      plantDefect(r);
      return r;
    }
    if (recent.length < RECENT) recent.push(r);
    else recent[int(RECENT)] = r;
    return r;
  }

  return { next, stats };
}

/** Parse `<rows> <out> [--seed N] [--encoding E]` style arguments. */
export function parseArgs(argv, usage) {
  const pos = [];
  const opts = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) opts[a.slice(2)] = argv[++i];
    else pos.push(a);
  }
  const rows = Number(pos[0]);
  if (!Number.isInteger(rows) || rows < 0 || !pos[1]) {
    console.error(usage);
    process.exit(2);
  }
  return { rows, out: pos[1], opts };
}

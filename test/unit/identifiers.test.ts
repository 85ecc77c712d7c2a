import { describe, expect, it } from 'vitest';
import {
  isPilotUscc,
  isValidOrgCode,
  isValidResidentId,
  isValidUscc,
  maskIdNumber,
  orgCodeCheckChar,
  residentIdBirthDate,
  residentIdCheckChar,
  upgradeResidentId15,
  usccCheckChar,
  usccOrgCodeConsistent,
  usccRegistrationDivision,
} from '../../src/identifiers/index.js';

const PILOTS = [
  '91350100M0001TGQXM',
  '91350211M0000XUF46',
  '91350203M0001FUE2P',
  '91350211M00013FA1N',
  '91350203M0001QAY9B',
];

describe('USCC (GB 32100)', () => {
  it('computes the check char of the worked example in the standard', () => {
    expect(usccCheckChar('91350100M000100Y4')).toBe('3');
    expect(isValidUscc('91350100M000100Y43')).toBe(true);
  });

  it('accepts real codes, including post-2015 MA bodies', () => {
    expect(isValidUscc('91230184MA1BUFLT44')).toBe(true);
    expect(isValidUscc('91340600MA2PBM9HXD')).toBe(true);
    expect(usccRegistrationDivision('91230184MA1BUFLT44')).toBe('230184');
  });

  it('rejects every wrong check char', () => {
    const good = '91230184MA1BUFLT44';
    for (const c of '0123456789ABCDEFGHJKLMNPQRTUWXY') {
      if (c === '4') continue;
      expect(isValidUscc(good.slice(0, 17) + c)).toBe(false);
    }
  });

  it('rejects wrong length, forbidden letters, lower case and letters in the division code', () => {
    expect(isValidUscc('91230184MA1BUFLT4')).toBe(false);
    expect(isValidUscc('91230184MA1BUFLT445')).toBe(false);
    expect(isValidUscc('91230184MA1BUFLI44')).toBe(false); // I is not in the alphabet
    expect(isValidUscc('91230184ma1buflt44')).toBe(false);
    expect(isValidUscc('912301A4MA1BUFLT44')).toBe(false);
    expect(isValidUscc('00000000000000000X')).toBe(false);
    expect(usccCheckChar('9123018４MA1BUFLT4')).toBeUndefined(); // full-width digit: must be NFKC'd first
  });

  it('accepts the Fujian pilot codes although their check char fails, and says so', () => {
    for (const p of PILOTS) {
      expect(usccCheckChar(p.slice(0, 17))).not.toBe(p[17]);
      expect(isValidUscc(p)).toBe(true);
      expect(isPilotUscc(p)).toBe(true);
    }
    expect(isPilotUscc('91350100M000100Y43')).toBe(false);
  });

  it('checks the organisation code inside positions 9–17 separately', () => {
    expect(usccOrgCodeConsistent('91230184MA1BUFLT44')).toBe(true);
    // the one real code whose inner org code fails GB 11714 (domain.md §2.1)
    expect(isValidUscc('911101005JLR20JR60')).toBe(true);
    expect(usccOrgCodeConsistent('911101005JLR20JR60')).toBe(false);
  });
});

describe('organisation code (GB 11714)', () => {
  it('computes the worked example', () => {
    expect(orgCodeCheckChar('59467239')).toBe('9');
    expect(isValidOrgCode('594672399')).toBe(true);
    expect(isValidOrgCode('594672398')).toBe(false);
    expect(isValidOrgCode('59467239-9')).toBe(false); // hyphen must be removed by clean
  });

  it('maps remainder 10 to X and 11 to 0', () => {
    expect(orgCodeCheckChar('MA1BUFLT')).toBe('4'); // pos 9–17 of 91230184MA1BUFLT44
    expect(orgCodeCheckChar('00000000')).toBe('0'); // S = 0 → 11 → '0'
    expect(orgCodeCheckChar('00000006')).toBe('X'); // S = 6·2 = 12, 12 mod 11 = 1 → 10 → 'X'
    expect(orgCodeCheckChar('0000000a')).toBeUndefined();
  });
});

describe('resident ID (GB 11643)', () => {
  it('computes the worked example with an X check char', () => {
    expect(residentIdCheckChar('11010519491231002')).toBe('X');
    expect(isValidResidentId('11010519491231002X')).toBe(true);
    expect(isValidResidentId('110105194912310021')).toBe(false);
    expect(isValidResidentId('11010519491231002x')).toBe(false); // upper-cased by clean
  });

  it('upgrades 15-digit numbers', () => {
    expect(upgradeResidentId15('150102880730303')).toBe('150102198807303035');
    expect(upgradeResidentId15('610104620927690')).toBe('610104196209276908');
    expect(isValidResidentId('150102198807303035')).toBe(true);
    expect(isValidResidentId('150102880730303')).toBe(true);
    expect(upgradeResidentId15('150102881330303')).toBeUndefined(); // month 13
  });

  it('checks the birth date: real, not before 1900, not after today', () => {
    expect(residentIdBirthDate('11010519491231002X')).toBe('1949-12-31');
    expect(residentIdBirthDate('150102880730303')).toBe('1988-07-30');
    // 2019-02-29 does not exist; check char recomputed so only the date is wrong
    const feb29 = `23070220190229001`;
    expect(isValidResidentId(feb29 + residentIdCheckChar(feb29))).toBe(false);
    const leap = `23070220200229001`;
    expect(isValidResidentId(leap + residentIdCheckChar(leap), '2024-01-01')).toBe(true);
    const old = `23070218991231001`;
    expect(isValidResidentId(old + residentIdCheckChar(old))).toBe(false);
    const future = `23070220300101001`;
    expect(isValidResidentId(future + residentIdCheckChar(future), '2025-06-01')).toBe(false);
    expect(isValidResidentId(leap + residentIdCheckChar(leap), '2020-02-28')).toBe(false);
  });

  it('rejects Excel-rounded numbers and wrong shapes', () => {
    expect(isValidResidentId('360426199101010000')).toBe(false);
    expect(isValidResidentId('3.60426E+17')).toBe(false);
    expect(isValidResidentId('36042619910101007')).toBe(false);
    expect(isValidResidentId('15010288073030')).toBe(false);
  });

  it('accepts the new foreign permanent-residence format (same checksum)', () => {
    expect(isValidResidentId('932682198501010017')).toBe(true);
  });
});

describe('maskIdNumber', () => {
  it('keeps the first and last four characters', () => {
    expect(maskIdNumber('230702198001012288')).toBe('2307**********2288');
    expect(maskIdNumber('150102880730303')).toBe('1501*******0303');
    expect(maskIdNumber('G1234567')).toBe('G******7');
    expect(maskIdNumber('')).toBe('');
  });
});

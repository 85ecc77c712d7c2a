import { describe, expect, it } from 'vitest';
import {
  addWorkingDays,
  isKnownDivision,
  isWorkingDay,
  loadReference,
  workingDaysBetween,
} from '../../src/reference.js';

const ref = loadReference();
const h = ref.holidays;

describe('reference data from schemas/reference', () => {
  it('holds the current Heilongjiang divisions with level and parent', () => {
    expect(ref.divisions.size).toBe(140);
    const levels = [...ref.divisionInfo.values()].map((d) => d.level);
    expect(levels.filter((l) => l === 'province')).toHaveLength(1);
    expect(levels.filter((l) => l === 'prefecture')).toHaveLength(13);
    expect(levels.filter((l) => l === 'county')).toHaveLength(126);
    expect(ref.divisions.get('230184')).toBe('五常市');
    expect(ref.divisionInfo.get('230184')).toEqual({ name: '五常市', level: 'county', parent: '230100' });
    expect(ref.divisionInfo.get('230000')?.parent).toBeNull();
  });

  it('keeps abolished codes for old ID numbers and USCCs', () => {
    // 双城市 230182 became 双城区 230113 in 2014; 伊春区 230702 was abolished in 2019.
    expect(ref.divisions.has('230182')).toBe(false);
    expect(ref.historicalDivisions.has('230182')).toBe(true);
    expect(ref.historicalNames.get('230182')).toEqual([{ name: '双城市', from: 1996, to: 2014 }]);
    expect(isKnownDivision('230702', ref)).toBe(true);
    expect(isKnownDivision('230702', ref, { historical: false })).toBe(false);
    expect(isKnownDivision('230184', ref, { historical: false })).toBe(true);
    expect(isKnownDivision('239999', ref)).toBe(false);
  });

  it('holds the 2017–2026 holiday calendar', () => {
    expect(h.size).toBe(344);
    expect(ref.holidayYears).toEqual([2017, 2026]);
    expect(h.get('2024-10-12')).toEqual({ off: false, name: '国庆节' });
    expect(h.get('2024-10-01')).toEqual({ off: true, name: '国庆节' });
  });
});

describe('working days (domain.md §5)', () => {
  it('knows weekdays, holidays and make-up Saturdays/Sundays', () => {
    expect(isWorkingDay('2024-09-27', h)).toBe(true); // Friday
    expect(isWorkingDay('2024-09-28', h)).toBe(false); // Saturday
    expect(isWorkingDay('2024-09-29', h)).toBe(true); // Sunday, make-up day for 国庆节
    expect(isWorkingDay('2024-10-01', h)).toBe(false); // 国庆节
    expect(isWorkingDay('2024-10-07', h)).toBe(false); // Monday, still 国庆节
    expect(isWorkingDay('2024-10-12', h)).toBe(true); // Saturday, make-up day
    expect(isWorkingDay('2024-10-13', h)).toBe(false); // Sunday
    expect(isWorkingDay('2030-01-01', h)).toBe(true); // Tuesday, beyond the calendar: weekdays only
  });

  it('counts 7 working days after 2024-09-27 across the National Day holiday', () => {
    // 09-29 (make-up Sun) 1, 09-30 2, [10-01..10-07 off], 10-08 3, 10-09 4, 10-10 5, 10-11 6, 10-12 (make-up Sat) 7
    expect(addWorkingDays('2024-09-27', 7, h)).toBe('2024-10-12');
    expect(addWorkingDays('2024-09-27', 2, h)).toBe('2024-09-30');
    expect(addWorkingDays('2024-09-27', 3, h)).toBe('2024-10-08');
    expect(workingDaysBetween('2024-09-27', '2024-10-12', h)).toBe(7);
    expect(workingDaysBetween('2024-09-27', '2024-10-11', h)).toBe(6);
  });

  it('counts across the 2025 Spring Festival (longer since 2025) and National Day', () => {
    // 01-26 (make-up Sun) 1, 01-27 2, [01-28..02-04 off], 02-05 3, 02-06 4, 02-07 5, 02-08 (make-up Sat) 6, 02-10 7
    expect(addWorkingDays('2025-01-24', 7, h)).toBe('2025-02-10');
    // 09-28 (make-up Sun) 1, 09-29 2, 09-30 3, [10-01..10-08 off], 10-09 4, 10-10 5, 10-11 (make-up Sat) 6
    expect(addWorkingDays('2025-09-26', 6, h)).toBe('2025-10-11');
    expect(addWorkingDays('2025-09-26', 7, h)).toBe('2025-10-13');
  });

  it('returns the date itself for 0 and walks backwards for negative counts', () => {
    expect(addWorkingDays('2024-10-05', 0, h)).toBe('2024-10-05');
    expect(addWorkingDays('2024-10-08', -1, h)).toBe('2024-09-30');
    expect(workingDaysBetween('2024-10-12', '2024-09-27', h)).toBe(0);
  });

  it('refuses anything but a real YYYY-MM-DD date', () => {
    expect(() => isWorkingDay('2024-02-30', h)).toThrow(RangeError);
    expect(() => addWorkingDays('2024/10/01', 1, h)).toThrow(RangeError);
    expect(() => addWorkingDays('2024-10-01', 1.5, h)).toThrow(RangeError);
  });
});

/** The one source of "now" and "today" (injected so tests can pin the date). */
export interface Clock {
  now(): Date;
  /** Today in the configured zone (Asia/Shanghai by default), YYYY-MM-DD. */
  today(): string;
}

export function makeClock(timeZone: string, fixedNow?: Date): Clock {
  const fmt = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
  const now = () => (fixedNow ? new Date(fixedNow) : new Date());
  return { now, today: () => fmt.format(now()) };
}

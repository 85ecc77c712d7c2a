/** How a CSV separates fields and records. */
export interface CsvDialect {
  delimiter: ',' | ';' | '\t';
  newline: '\r\n' | '\n' | '\r';
}

const CANDIDATES = [',', ';', '\t'] as const;
const SAMPLE_LINES = 50;

/**
 * Guesses the delimiter and line ending from the start of the text, counting candidates outside
 * quotes on each line: the delimiter whose per-line count agrees on the most lines wins (title rows
 * above the header have none and do not vote); ties go to the larger count, then to the comma.
 */
export function detectDialect(text: string): CsvDialect {
  let newline: CsvDialect['newline'] | undefined;
  const counts: number[][] = [[], [], []];
  let line = [0, 0, 0];
  let inQuotes = false;
  let lines = 0;
  for (let i = 0; i < text.length && lines < SAMPLE_LINES; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 34) {
      inQuotes = !inQuotes; // an escaped "" toggles twice: no net change
    } else if (inQuotes) {
    } else if (ch === 44) line[0] = (line[0] as number) + 1;
    else if (ch === 59) line[1] = (line[1] as number) + 1;
    else if (ch === 9) line[2] = (line[2] as number) + 1;
    else if (ch === 10 || ch === 13) {
      if (!newline) newline = ch === 10 ? '\n' : text.charCodeAt(i + 1) === 10 ? '\r\n' : '\r';
      if (ch === 13 && text.charCodeAt(i + 1) === 10) i++;
      for (let k = 0; k < 3; k++) (counts[k] as number[]).push(line[k] as number);
      line = [0, 0, 0];
      lines++;
    }
  }
  if (lines < SAMPLE_LINES) for (let k = 0; k < 3; k++) (counts[k] as number[]).push(line[k] as number);
  let best = 0;
  let bestAgree = 0;
  let bestCount = 0;
  for (let k = 0; k < 3; k++) {
    const freq = new Map<number, number>();
    for (const c of counts[k] as number[]) if (c > 0) freq.set(c, (freq.get(c) ?? 0) + 1);
    for (const [count, agree] of freq) {
      if (agree > bestAgree || (agree === bestAgree && count > bestCount)) {
        best = k;
        bestAgree = agree;
        bestCount = count;
      }
    }
  }
  return { delimiter: CANDIDATES[best] as CsvDialect['delimiter'], newline: newline ?? '\n' };
}

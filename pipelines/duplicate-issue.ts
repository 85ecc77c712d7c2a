import type { Issue } from '../src/types.js';

/** Warning on a duplicate row whose content differed from the row that won (DESIGN.md §2). */
export function duplicateDiffersIssue(winnerRow: number): Issue {
  return {
    code: 'DUPLICATE_DIFFERS',
    severity: 'warning',
    value: winnerRow,
    zh: `本行与第 ${winnerRow} 行是同一条记录（决定文书号、机关和相对人相同）但内容不同，已按最后一行（第 ${winnerRow} 行）入库。如本行才是正确的，请修改第 ${winnerRow} 行后重新报送。`,
    en: `duplicate of row ${winnerRow} with different content; the last row (${winnerRow}) was loaded`,
  };
}

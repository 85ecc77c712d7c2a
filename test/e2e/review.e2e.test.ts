/**
 * The steward page in a real browser (Debian's chromium through playwright-core) against a real server
 * on PostgreSQL: a clerk uploads a messy county file, reads the dry run, commits, fixes a cell inline,
 * round-trips the annotated workbook through exceljs, and a steward discards a row with a reason.
 * Screenshots of the main screens go to test/e2e/screenshots/ (CI keeps the folder).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ExcelJS from 'exceljs';
import pg from 'pg';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REJECTION_ID_HEADER } from '../../pipelines/rejection-id.js';
import { FIXTURES } from '../helpers/ingest.js';
import { TEST_DATABASE_URL } from '../helpers/warehouses.js';
import { startTestServer, TEST_PASSWORD, type TestServer } from '../helpers/web.js';

const CHROMIUM = process.env.GUIJI_CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = path.join(import.meta.dirname, 'screenshots');
const MESSY = path.join(FIXTURES, 'county', 'license-messy.xlsx');
const GOLDEN = JSON.parse(readFileSync(`${MESSY}.expected.json`, 'utf8')).sheets[0] as {
  sheet: string;
  total: number;
  inserted: number;
  duplicate: number;
  rejected: number;
  rows: Record<string, { outcome: string; errors: string[] }>;
};

async function postgresProblem(): Promise<string | undefined> {
  const c = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  } finally {
    await c.end().catch(() => {});
  }
}

const missing = [
  existsSync(CHROMIUM) ? null : `chromium not found at ${CHROMIUM}`,
  (await postgresProblem()) ?? null,
].filter((x): x is string => x !== null);
if (missing.length > 0) {
  // In CI (.ci/run installs chromium and starts PostgreSQL) a missing piece is a failure, never a skip.
  if (process.env.CI === 'true') throw new Error(`browser tests cannot run (CI=true): ${missing.join('; ')}`);
  console.warn(`\n⚠ browser tests SKIPPED: ${missing.join('; ')}\n`);
}

describe.skipIf(missing.length > 0)('steward page in chromium [postgres]', () => {
  let server: TestServer;
  let browser: Browser;
  let clerk: BrowserContext;
  let page: Page;
  let tmp: string;
  /** The batch the clerk's upload committed. */
  let batchId: string;
  /** Script errors and CSP violations seen on any page (the page must have none). */
  const pageProblems: string[] = [];

  const db = () => server.wh.wh.knex;
  const rejectionAt = (row: number) =>
    db()('rejections').where({ batch_id: batchId, row_number: row }).first() as Promise<Record<string, unknown>>;
  // Full page for screens; the viewport for dialogs (a modal's backdrop covers the viewport only).
  const shot = (name: string, p: Page = page, fullPage = true) =>
    p.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage });
  const tableRow = (p: Page, row: number) => p.locator(`table.rejections tbody tr[data-row="${row}"]`);

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    tmp = await mkdtemp(path.join(tmpdir(), 'guiji-e2e-'));
    server = await startTestServer('postgres', { label: 'e2e' });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    clerk = await browser.newContext({
      locale: 'zh-CN',
      viewport: { width: 1440, height: 900 },
      acceptDownloads: true,
    });
    page = await clerk.newPage();
    watch(page);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  function watch(p: Page) {
    p.on('pageerror', (e) => pageProblems.push(`page error: ${e.message}`));
    p.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) pageProblems.push(m.text());
    });
  }

  async function login(p: Page, username: string) {
    await p.goto(`${server.url}/`);
    await p.getByLabel('用户名').fill(username);
    await p.getByLabel('密码').fill(TEST_PASSWORD);
    await p.getByRole('button', { name: '登录' }).click();
    await p.getByRole('heading', { name: '导入批次' }).waitFor();
  }

  /** Opens a batch's rejections under a status tab and waits until that screen is drawn. */
  async function openBatch(p: Page, status: 'open' | 'fixed' | 'discarded' | 'all' = 'open') {
    const q = status === 'open' ? '' : `?status=${status}`;
    await p.goto(`${server.url}/#/batches/${encodeURIComponent(batchId)}${q}`);
    await p.locator(`.tabs button[data-status="${status}"][aria-pressed="true"]`).waitFor();
    await p.locator('table.rejections, .results-table .empty').first().waitFor();
  }

  /** Uploads a file on the page and waits for the dry run. */
  async function upload(p: Page, file: string) {
    await p.goto(`${server.url}/#/upload`);
    await p.getByLabel('选择文件').setInputFiles(file);
    await p.getByRole('button', { name: '上传并检查' }).click();
    await p.locator('.dry-run-summary').first().waitFor();
  }

  it('refuses a wrong password, then logs the clerk in', async () => {
    await page.goto(`${server.url}/`);
    await page.getByRole('heading', { name: '登录' }).waitFor();
    await shot('01-login');
    await page.getByLabel('用户名').fill('clerk230184');
    await page.getByLabel('密码').fill('wrong-password');
    await page.getByRole('button', { name: '登录' }).click();
    await expect.poll(() => page.locator('#login-error').isVisible()).toBe(true);
    expect(await page.locator('#login-error').textContent()).toMatch(/[\u4e00-\u9fff]/);

    await login(page, 'clerk230184');
    expect(await page.locator('#who').textContent()).toContain('五常市填报员');
  });

  it('uploads a messy county file and shows the dry run before anything is loaded', async () => {
    await upload(page, MESSY);
    const good = GOLDEN.total - GOLDEN.rejected;
    expect(await page.locator('.dry-run-summary').textContent()).toBe(
      `${good} 行通过，${GOLDEN.rejected} 行需要修改：`,
    );
    // The sample names the rejected rows by the number the clerk sees in Excel, with the reason.
    const sample = (await page.locator('.sample').textContent()) ?? '';
    const rejectedRows = Object.entries(GOLDEN.rows)
      .filter(([, r]) => r.outcome === 'rejected')
      .map(([n]) => n);
    for (const n of rejectedRows.slice(0, 5)) expect(sample).toContain(`第 ${n} 行`);
    expect(sample).toContain('2024-O7-25');
    await shot('02-upload-dry-run');

    // Staged, not loaded: nothing in the catalog table yet.
    const staged = await db()('batches').where({ status: 'staged' });
    expect(staged).toHaveLength(1);
    batchId = staged[0].id;
    expect(Number((await db()('admin_license').count({ n: '*' }))[0]?.n ?? 0)).toBe(0);

    await page.getByRole('button', { name: '确认入库' }).click();
    await page.locator('.upload-status.ok').waitFor();
    await shot('03-upload-committed');
    const b = await db()('batches').where({ id: batchId }).first();
    expect(b).toMatchObject({
      status: 'done',
      total: GOLDEN.total,
      inserted: GOLDEN.inserted,
      duplicate: GOLDEN.duplicate,
      rejected: GOLDEN.rejected,
    });
  });

  it('lists the batch with its outcome counts', async () => {
    await page.goto(`${server.url}/#/batches`);
    const row = page.locator(`table.batches tbody tr[data-batch-id="${batchId}"]`);
    await row.waitFor();
    const text = (await row.textContent()) ?? '';
    expect(text).toContain('license-messy.xlsx');
    expect(await row.locator('td.outcome-rejected').textContent()).toBe(String(GOLDEN.rejected));
    expect(await row.locator('td.outcome-inserted').textContent()).toBe(String(GOLDEN.inserted));
    await shot('04-batches');
  });

  it('shows the rejections with red cells, messages and facets that filter', async () => {
    await openBatch(page);
    expect(await page.locator('table.rejections tbody tr').count()).toBe(GOLDEN.rejected);

    // Row 12: 有效期起 `2024-O7-25` — the cell is red, its message is its title and shows on focus.
    const cell = tableRow(page, 12).locator('td.bad').first();
    expect(await cell.locator('.cell-value').textContent()).toBe('2024-O7-25');
    const title = (await cell.getAttribute('title')) ?? '';
    expect(title).toContain('2024-O7-25');
    expect(await cell.locator('.cell-msg').isVisible()).toBe(false);
    // The row's issue list links to the cell: a click scrolls the wide row to it and shows the message.
    await tableRow(page, 12)
      .getByRole('button', { name: /^有效期起：/ })
      .click();
    await expect.poll(() => cell.evaluate((el) => el.matches(':focus'))).toBe(true);
    expect(await cell.locator('.cell-msg').isVisible()).toBe(true);
    expect(await cell.locator('.cell-msg').textContent()).toBe(title);
    await shot('05-rejections-facets', page, false);

    // The clerk may not discard: no button for it.
    expect(await page.getByRole('button', { name: '作废', exact: true }).count()).toBe(0);

    // Facets: one row per planted defect; clicking a rule filters the table to its rows.
    const ruleFacet = page.locator('[data-facet="rule"] button[data-value="DATE_UNPARSEABLE"]');
    expect(await ruleFacet.locator('.facet-count').textContent()).toBe('1');
    const required = Object.values(GOLDEN.rows).filter((r) => r.errors.includes('REQUIRED_MISSING')).length;
    expect(
      await page.locator('[data-facet="rule"] button[data-value="REQUIRED_MISSING"] .facet-count').textContent(),
    ).toBe(String(required));
    await ruleFacet.click();
    await expect.poll(() => page.locator('table.rejections tbody tr').count()).toBe(1);
    expect(await page.locator('table.rejections tbody tr').getAttribute('data-row')).toBe('12');
    expect(await page.locator('[data-facet="rule"] button[aria-pressed="true"]').count()).toBe(1);
    await page.getByRole('button', { name: '清除全部筛选' }).click();
    await expect.poll(() => page.locator('table.rejections tbody tr').count()).toBe(GOLDEN.rejected);
  });

  it('fixes one cell inline and resubmits: the row leaves the open list, loaded as a fix batch', async () => {
    const before = await rejectionAt(12);
    expect(before.status).toBe('open');
    await tableRow(page, 12).getByRole('button', { name: '修改' }).click();
    const input = page.locator('tr.editing input[data-header="有效期起"]');
    // Focus goes to the first failing cell's input.
    await expect.poll(() => page.locator('tr.editing input[data-header="有效期起"]:focus').count()).toBe(1);
    await input.fill('2024-07-25');
    await input.scrollIntoViewIfNeeded();
    await shot('06-edit', page, false);
    await page.getByRole('button', { name: '保存并重新提交' }).click();
    await expect.poll(() => tableRow(page, 12).count()).toBe(0);
    expect(await page.locator('table.rejections tbody tr').count()).toBe(GOLDEN.rejected - 1);
    // The batch keeps its counts (退回 stays); only its open rejections go down.
    const line = (await page.locator('.batch-line').textContent()) ?? '';
    expect(line).toContain(`退回 ${GOLDEN.rejected}`);
    expect(line).toContain(`待处理 ${GOLDEN.rejected - 1}`);

    const after = await rejectionAt(12);
    expect(after).toMatchObject({ status: 'fixed', resolved_by: 'clerk230184' });
    const fixBatch = await db()('batches').where({ id: after.fix_batch_id }).first();
    expect(fixBatch).toMatchObject({ kind: 'fix', created_by: 'clerk230184', total: 1, rejected: 0 });
    // The original batch keeps its counts (DESIGN.md §2).
    expect(await db()('batches').where({ id: batchId }).first()).toMatchObject({ rejected: GOLDEN.rejected });

    // Under 已修正 the row shows as fixed; its history says who changed what, old → new.
    await page.getByRole('button', { name: '已修正' }).click();
    await tableRow(page, 12).waitFor();
    expect(await tableRow(page, 12).locator('.badge').textContent()).toBe('已修正');
    await tableRow(page, 12).getByRole('button', { name: '历史' }).click();
    const dialog = page.locator('dialog[open]');
    await dialog.locator('table.history').waitFor();
    const history = (await dialog.textContent()) ?? '';
    expect(history).toContain('clerk230184');
    expect(history).toContain('2024-O7-25');
    expect(history).toContain('2024-07-25');
    await shot('07-history', page, false);
    await page.keyboard.press('Escape');
    await expect.poll(() => page.locator('dialog[open]').count()).toBe(0);
  });

  it('keeps a fix that still fails open with the new reason, and applies a fix to same-value rows', async () => {
    // Row 14: 有效期止 2020-07-31 is before 有效期起. A date still before it fails again (422).
    await openBatch(page);
    const before = await rejectionAt(14);
    await tableRow(page, 14).getByRole('button', { name: '修改' }).click();
    const validTo = page.locator('tr.editing input[data-header="有效期止"]');
    await validTo.fill('2019-12-31');
    await page.getByRole('button', { name: '保存并重新提交' }).click();
    const message = page.locator('tr.editing .row-msg');
    await message.waitFor();
    expect(await message.textContent()).toContain('仍未通过校验');
    expect(await message.textContent()).toContain('2019-12-31');
    // The clerk's edit is kept in the row, which stays open with the new reason.
    expect(await validTo.inputValue()).toBe('2019-12-31');
    const after = await rejectionAt(14);
    expect(after.status).toBe('open');
    expect(Number(after.version)).toBeGreaterThan(Number(before.version));
    await page.getByRole('button', { name: '取消' }).click();
    await expect.poll(() => page.locator('tr.editing').count()).toBe(0);

    // Row 15: 许可类别 `年审` is not in the code table; "apply to all rows with the same value" fixes it.
    await tableRow(page, 15).getByRole('button', { name: '修改' }).click();
    await page.locator('tr.editing input[data-header="许可类别"]').fill('普通');
    await page.getByRole('button', { name: '把这个修改应用到同值的所有行' }).click();
    const confirm = page.locator('dialog[open]');
    expect(await confirm.textContent()).toContain('年审');
    await confirm.getByRole('button', { name: '全部修改并重新提交' }).click();
    await expect.poll(() => tableRow(page, 15).count()).toBe(0);
    expect(await page.locator('.result-count').textContent()).toContain('已修正并入库 1 行');
    expect(await rejectionAt(15)).toMatchObject({ status: 'fixed', resolved_by: 'clerk230184' });
  });

  it('round-trips the annotated workbook: a cell fixed in Excel resolves its rejection', async () => {
    await openBatch(page);
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#download-workbook').click()]);
    const annotated = path.join(tmp, 'annotated.xlsx');
    await download.saveAs(annotated);

    // Row 13's 发证日期 `2024/06/31` does not exist; the clerk corrects it in the workbook.
    const target = await rejectionAt(13);
    expect(target.status).toBe('open');
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(annotated);
    const ws = wb.worksheets.find((s) => s.name !== '说明');
    if (!ws) throw new Error('annotated workbook has no data sheet');
    const headerCells = new Map<string, number>();
    ws.getRow(1).eachCell((c, col) => headerCells.set(String(c.value).trim(), col));
    const idCol = headerCells.get(REJECTION_ID_HEADER);
    const dateCol = headerCells.get('发证日期');
    expect(idCol).toBeDefined();
    expect(dateCol).toBeDefined();
    expect(ws.getColumn(idCol as number).hidden).toBe(true);
    let found = 0;
    ws.eachRow((row, n) => {
      if (n > 1 && String(row.getCell(idCol as number).value) === String(target.id)) {
        row.getCell(dateCol as number).value = '2024/06/30';
        found = n;
      }
    });
    expect(found).toBeGreaterThan(1);
    const fixed = path.join(tmp, '五常市-退回修正.xlsx');
    await wb.xlsx.writeFile(fixed);

    const openBefore = Number(
      (await db()('rejections').where({ batch_id: batchId, status: 'open' }).count({ n: '*' }))[0]?.n,
    );
    await upload(page, fixed);
    expect(await page.locator('.dry-run-summary').textContent()).toBe(`1 行通过，${openBefore - 1} 行需要修改：`);
    await page.getByRole('button', { name: '确认入库' }).click();
    await page.locator('.upload-status.ok').waitFor();

    const resolved = await rejectionAt(13);
    expect(resolved.status).toBe('fixed');
    const reupload = await db()('batches').where({ id: resolved.fix_batch_id }).first();
    expect(reupload).toMatchObject({ status: 'done', total: openBefore, rejected: openBefore - 1 });
    // Rows rejected again update their original rejection instead of creating new ones.
    expect(Number((await db()('rejections').where({ batch_id: reupload.id }).count({ n: '*' }))[0]?.n)).toBe(0);

    await openBatch(page, 'fixed');
    expect(await tableRow(page, 13).locator('.badge').textContent()).toBe('已修正');
    await openBatch(page);
    expect(await tableRow(page, 13).count()).toBe(0);
  });

  it('lets a steward discard a row only with a reason', async () => {
    const steward = await browser.newContext({ locale: 'zh-CN', viewport: { width: 1440, height: 900 } });
    try {
      const sp = await steward.newPage();
      watch(sp);
      await login(sp, 'steward');
      await openBatch(sp);
      const footer = tableRow(sp, 27);
      await footer.getByRole('button', { name: '作废' }).click();
      const dialog = sp.locator('dialog[open]');
      await dialog.getByRole('button', { name: '确认作废' }).click();
      await dialog.locator('.error').waitFor();
      expect(await dialog.locator('.error').textContent()).toContain('请填写作废原因');
      expect((await rejectionAt(27)).status).toBe('open');

      // The API refuses an empty reason too, whatever the page does.
      const csrf = await sp.evaluate(
        async () => ((await (await fetch('/api/me')).json()) as { csrfToken: string }).csrfToken,
      );
      const target = await rejectionAt(27);
      const refused = await sp.evaluate(
        async ({ id, csrf }) => {
          const res = await fetch(`/api/rejections/${id}/discard`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
            body: JSON.stringify({ reason: '   ' }),
          });
          return { status: res.status, body: (await res.json()) as { code: string; message: string } };
        },
        { id: target.id as number, csrf },
      );
      expect(refused.status).toBe(400);
      expect(refused.body.message).toMatch(/[\u4e00-\u9fff]/);
      expect((await rejectionAt(27)).status).toBe('open');

      const reason = '表尾“制表人”行，不是许可数据';
      await dialog.getByLabel('作废原因（必填）').fill(reason);
      await shot('08-discard', sp, false);
      await dialog.getByRole('button', { name: '确认作废' }).click();
      await expect.poll(() => tableRow(sp, 27).count()).toBe(0);
      expect(await rejectionAt(27)).toMatchObject({ status: 'discarded', reason, resolved_by: 'steward' });

      // A steward sees every county's rejections, with a county facet.
      await sp.goto(`${server.url}/#/rejections`);
      await sp.locator('table.rejections td.file-col').first().waitFor();
      await sp.locator('[data-facet="county"] button[data-value="230184"]').waitFor();
      const firstRow = sp.locator('table.rejections tbody tr').first();
      expect(await firstRow.locator('th, td').count()).toBe(await sp.locator('table.rejections thead th').count());
      expect(await firstRow.locator('td.file-col').textContent()).toContain('license-messy.xlsx');
      await shot('09-all-rejections', sp);
    } finally {
      await steward.close();
    }
  });

  it('ran without script errors or CSP violations', () => {
    expect(pageProblems).toEqual([]);
  });
});

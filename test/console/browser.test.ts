/**
 * The console end to end, as an operator uses it: redis-server, a gateway (`aircharge serve`) and
 * the console (`aircharge console`) as processes, a login made with `aircharge operator add`, and
 * Debian's Chromium (/usr/bin/chromium, headless, driven by playwright-core; never a downloaded
 * browser). The operator logs in, watches a payment made by `aircharge-sim pay` appear on the
 * dashboard, finds it by receipt, tops up a float through the form and finds the audit entry. A
 * page on another port of the same host posts a forged top-up form: refused, no money moves.
 * A screenshot of each page goes to test-output/console/.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdmin, type Admin } from '../../src/admin/index.js';
import { DEMO_MASTER_KEY } from '../../src/store/secrets.js';
import { freePort, GATEWAY_BIN, startGateway, type GatewayService } from '../../simulator/processes.js';
import { MemoryStateStore, Terminal } from '../../simulator/terminal/index.js';
import { PowerSource, PrinterState } from '../../protocol/index.js';
import { startRedis, type RedisProcess } from '../helpers/redis.js';

const SIM = join(import.meta.dirname, '../../dist/simulator/cli/main.js');
const SHOTS = join(import.meta.dirname, '../../test-output/console');
const CHROMIUM = '/usr/bin/chromium';
const PASSWORD = 'a long enough console password';
const ACCOUNT = '3430000001';
const TERMINAL = 'DON00001';

let redis: RedisProcess;
let client: Redis;
let admin: Admin;
let gateway: GatewayService;
let consoleProcess: ChildProcess;
let consoleUrl: string;
let evil: Server;
let browser: BrowserContext;
let page: Page;
let work: string;
let terminalKey: string;
let nanshanKey: string;

function run(file: string, args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [file, ...args], { timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
    child.stdin?.end(input ?? '');
  });
}

/** `aircharge console` on a free port; resolves once it logs "console listening". */
async function startConsole(redisUrl: string): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const child = spawn(process.execPath, [GATEWAY_BIN, 'console', '--demo', '--port', String(port), '--redis', redisUrl], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const deadline = Date.now() + 30_000;
  while (!log.includes('"console listening"')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the console did not start:\n${log}`);
    await sleep(50);
  }
  return { child, url: `http://127.0.0.1:${port}` };
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  work = mkdtempSync(join(tmpdir(), 'aircharge-console-e2e-'));
  redis = await startRedis();
  client = redis.client();
  admin = createAdmin({ redis: client, masterKey: DEMO_MASTER_KEY, operator: 'seed' });
  const outlets = [
    ['DONGCUN', 'Dongcun Grocery', 5_000_000],
    // Below the default ¥500 low-float threshold: the top-up leaves it in the warning state.
    ['XICUN', 'Xicun Supermarket', 40_000],
    ['NANSHAN', 'Nanshan Village Shop', 2_500_000],
  ] as const;
  for (const [id, name, fen] of outlets) {
    await admin.addMerchant(id, name);
    await admin.topUp(id, fen);
  }
  terminalKey = (await admin.addTerminal(TERMINAL, 'DONGCUN')).key;
  await admin.addTerminal('XIC00001', 'XICUN');
  nanshanKey = (await admin.addTerminal('NAN00001', 'NANSHAN')).key;
  await admin.importAccounts(
    `account,name,bill_id,period,amount,issue_date,status\n${ACCOUNT},Zhang San,B1,202610,300.00,2026-11-01,open\n3430000002,Li Si,B2,202610,80.00,2026-11-01,open\n`,
  );
  gateway = await startGateway({ redisUrl: redis.url, logFile: join(work, 'gateway.log'), args: ['--connection-rate', '0'] });
  ({ child: consoleProcess, url: consoleUrl } = await startConsole(redis.url));

  // A page on another port of the same host: same site for the browser, so SameSite does not stop it; the CSRF token must.
  evil = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html');
    res.end(`<form id="f" method="post" action="${consoleUrl}/outlets/XICUN/topup"><input name="amount" value="99999"><button>win</button></form>`);
  });
  await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));

  browser = await chromium.launchPersistentContext(join(work, 'chromium-profile'), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1360, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = browser.pages()[0] ?? (await browser.newPage());
}, 120_000);

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await new Promise<void>((resolve) => (evil ? evil.close(() => resolve()) : resolve()));
  if (consoleProcess && consoleProcess.exitCode === null) {
    const exited = new Promise((resolve) => consoleProcess.once('exit', resolve));
    consoleProcess.kill('SIGTERM');
    await exited;
  }
  await gateway?.stop();
  client?.disconnect();
  await redis?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
}, 60_000);

describe('the console in a real browser', () => {
  let receipt: string;

  it('an operator made with `aircharge operator add` (password on stdin) logs in; anyone else is sent to the login', async () => {
    const added = await run(GATEWAY_BIN, ['operator', 'add', 'olga', '--role', 'operator', '--redis', redis.url, '--operator', 'root'], `${PASSWORD}\n`);
    expect(added, added.stderr).toMatchObject({ code: 0 });
    await page.goto(`${consoleUrl}/outlets`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await shot('01-login');
    await page.fill('input[name=name]', 'olga');
    await page.fill('input[name=password]', 'not the password');
    await page.click('button[type=submit]');
    await expect(page.locator('.notice.bad').textContent()).resolves.toContain('Wrong operator name or password');
    await page.fill('input[name=name]', 'olga');
    await page.fill('input[name=password]', PASSWORD);
    await page.click('button[type=submit]');
    expect(new URL(page.url()).pathname).toBe('/outlets');
    const cookies = await browser.cookies(consoleUrl);
    expect(cookies.find((c) => c.name === '__Host-ac_session')).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict' });
  }, 90_000);

  it('shows a payment made by the simulator on the dashboard', async () => {
    await page.goto(`${consoleUrl}/`);
    await expect(tileValue("Today's payments")).resolves.toBe('0');
    const paid = await run(SIM, ['pay', ACCOUNT, '35.50', '--json', '--port', String(gateway.port), '--terminal', TERMINAL, '--key', terminalKey, '--state', join(work, 'sim')]);
    expect(paid.code, paid.stderr).toBe(0);
    receipt = (JSON.parse(paid.stdout.trim().split('\n').pop()!) as { receipt: string }).receipt;
    await page.reload();
    await expect(tileValue("Today's payments")).resolves.toBe('1');
    await expect(tileValue('Collected today')).resolves.toBe('¥35.50');
    await expect(tileValue('Low floats')).resolves.toBe('1');
    await expect(page.locator('section.card', { hasText: 'Low floats' }).textContent()).resolves.toContain('XICUN');
    await shot('02-dashboard');
  }, 90_000);

  it('finds the payment by its receipt', async () => {
    await page.click('nav >> text=Transactions');
    await page.fill('input[name=receipt]', receipt);
    await page.click('form.search button[type=submit]');
    expect(new URL(page.url()).pathname).toBe(`/transactions/${receipt}`);
    const facts = await page.locator('main').textContent();
    expect(facts).toContain('approved');
    expect(facts).toContain('¥35.50');
    expect(facts).toContain(ACCOUNT);
    expect(facts).toContain('Zhang San');
    // The biller's posting and the request record in words, not raw fields.
    const biller = await page.locator('section.card', { hasText: 'At the biller' }).textContent();
    expect(biller).toMatch(/payment\s*35\.50 yuan, APPROVED/);
    expect(biller).toMatch(/bills cleared\s*\S+ \(\d{4}-\d\d\) 35\.50/);
    expect(biller).toMatch(/PAY seq \d+ kept for retransmissions, answered from this transaction/);
    await shot('03-transaction');
    await page.goto(`${consoleUrl}/transactions?account=${ACCOUNT}`);
    await expect(page.locator('table').textContent()).resolves.toContain(receipt);
    await shot('04-search-account');
  }, 90_000);

  it('tops up a low float through the form: the float, the statement and the audit log show it', async () => {
    await page.goto(`${consoleUrl}/outlets`);
    await shot('05-outlets');
    await page.click('a[href="/outlets/XICUN"]');
    await page.fill('input[name=amount]', '5000');
    await page.fill('input[name=reference]', 'BANK-20261203-001');
    await page.click('form[action="/outlets/XICUN/topup"] button');
    await expect(page.locator('.notice.ok').textContent()).resolves.toContain('Top-up recorded');
    expect((await admin.showMerchant('XICUN')).floatFen).toBe(40_000 + 500_000);
    await expect(page.locator('section.card', { hasText: 'Statement' }).locator('tbody tr').first().textContent()).resolves.toContain('+¥5,000.00');
    await shot('06-outlet');

    await page.click('nav >> text=Audit log');
    const row = page.locator('tbody tr', { hasText: 'float.topup' }).filter({ hasText: 'XICUN' }).first();
    await expect(row.textContent()).resolves.toContain('olga');
    await shot('07-audit');
  }, 90_000);

  it('refuses a forged top-up posted from another page of the same host, with the session cookie riding along', async () => {
    const before = (await admin.showMerchant('XICUN')).floatFen;
    const address = evil.address() as { port: number };
    await page.goto(`http://127.0.0.1:${address.port}/`);
    await Promise.all([page.waitForNavigation(), page.click('#f button')]);
    expect(new URL(page.url()).pathname).toBe('/outlets/XICUN/topup');
    await expect(page.locator('main').textContent()).resolves.toContain('CSRF');
    expect((await admin.showMerchant('XICUN')).floatFen).toBe(before);
  }, 90_000);

  it('runs verify from the dashboard: the books balance after the payment and the top-up', async () => {
    await page.goto(`${consoleUrl}/`);
    await page.click('form[action="/verify"] button');
    await expect(tileValue('Books')).resolves.toBe('balance');
    await expect(page.locator('section.card', { hasText: 'The books' }).textContent()).resolves.toContain('the books balance');
    await shot('08-dashboard-verified');
  }, 90_000);

  it('draws the daily report and the fleet', async () => {
    await page.goto(`${consoleUrl}/report`);
    await expect(page.locator('p.summary').textContent()).resolves.toContain('1 outlet, 1 payment, ¥35.50 collected');
    expect(await page.locator('svg.chart').count()).toBe(2);
    await shot('09-report');
    await page.goto(`${consoleUrl}/terminals`);
    await expect(page.locator('table').textContent()).resolves.toContain(TERMINAL);
    await shot('10-terminals');
  }, 90_000);

  it('shows the fleet: a simulator terminal online with its health on the dashboard, the fleet page and its outlet; offline once it disconnects', async () => {
    const terminal = new Terminal({
      terminalId: 'NAN00001',
      key: Buffer.from(nanshanKey, 'hex'),
      gateway: { host: '127.0.0.1', port: gateway.port },
      store: new MemoryStateStore('NAN00001'),
      heartbeatSec: 0,
      health: { signal: 6, power: PowerSource.BATTERY, battery: 15, printer: PrinterState.PAPER_OUT },
    });
    const row = (id: string) => page.locator(`tr[data-terminal="${id}"]`).textContent();
    try {
      expect((await terminal.heartbeat()).name).toBe('APPROVED');
      await page.goto(`${consoleUrl}/`);
      await expect(tileValue('Terminals online')).resolves.toBe('1');
      await page.goto(`${consoleUrl}/terminals`);
      const online = await row('NAN00001');
      expect(online).toContain('online');
      expect(online).toContain('signal 6');
      expect(online).toContain('battery 15%');
      expect(online).toContain('paper-out');
      expect(online).toMatch(/\d+ s ago/);
      const never = await row('XIC00001');
      expect(never).toContain('offline');
      expect(never).toContain('never');
      await shot('11-fleet-online');
      await page.goto(`${consoleUrl}/outlets/NANSHAN`);
      await expect(row('NAN00001')).resolves.toContain('online');
    } finally {
      terminal.close();
    }
    const deadline = Date.now() + 10_000;
    while ((await admin.showTerminal('NAN00001')).online && Date.now() < deadline) await sleep(50);
    await page.goto(`${consoleUrl}/terminals`);
    const offline = await row('NAN00001');
    expect(offline).toContain('offline');
    expect(offline).not.toContain('online');
    expect(offline).toMatch(/\d+ s ago/);
    expect(offline).toContain('paper-out');
    await shot('12-fleet-offline');
    await page.goto(`${consoleUrl}/outlets/NANSHAN`);
    await expect(row('NAN00001')).resolves.toContain('offline');
    await page.goto(`${consoleUrl}/`);
    await expect(tileValue('Terminals online')).resolves.toBe('0');
  }, 90_000);

  it('logs out: the session cookie no longer opens a page', async () => {
    await page.goto(`${consoleUrl}/`);
    await page.click('form.who button');
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.goto(`${consoleUrl}/`);
    expect(new URL(page.url()).pathname).toBe('/login');
  }, 90_000);
});

function tileValue(label: string): Promise<string | null> {
  return page.locator('.tile', { has: page.locator('.label', { hasText: label }) }).locator('.value').textContent();
}

/**
 * What operations watches: the alert rules pass `promtool check rules` and their unit tests
 * (`promtool test rules`), every query of the Grafana dashboard is valid PromQL, and every metric
 * the rules and the dashboard name is exported by a live gateway (`aircharge serve` as a process,
 * after a terminal signed in, paid and corrected, and an operator topped a float up), with the
 * business counters and the build info holding the values that happened.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageType, ResultCode } from '../../protocol/index.js';
import { createAdmin } from '../../src/admin/index.js';
import { buildInfo } from '../../src/build-info.js';
import { startRedis, type RedisProcess } from '../helpers/redis.js';
import { TestTerminal } from '../helpers/terminal.js';

const MAIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const OPS = fileURLToPath(new URL('../../src/ops/', import.meta.url));
const RULES = join(OPS, 'prometheus', 'aircharge.rules.yml');
const DASHBOARD = join(OPS, 'grafana', 'aircharge.json');

function promtool(args: string[], cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile('promtool', args, { cwd, timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, output: stdout + stderr }));
  });
}

/** The `expr:` of every rule (one line or a `|` block), read from the YAML as text. */
function ruleExpressions(): string[] {
  const text = readFileSync(RULES, 'utf8');
  return [...text.matchAll(/^(\s+)expr: (\|\n((?:\1 +.*\n)+)|(.*)\n)/gm)].map((m) => (m[3] ?? m[4]!).trim());
}

function dashboardExpressions(): string[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Array<{ type: string; targets?: Array<{ expr: string }> }> };
  return dashboard.panels.flatMap((panel) => panel.targets ?? []).map((target) => target.expr);
}

/** Grafana's variables, replaced by what they stand for, so promtool can parse the query. */
const withoutGrafanaVariables = (expr: string) => expr.replaceAll('$__rate_interval', '5m').replaceAll('$__range', '1d');

const PROMQL_WORDS = new Set(['sum', 'max', 'min', 'avg', 'count', 'rate', 'irate', 'increase', 'histogram_quantile',
  'by', 'without', 'and', 'or', 'unless', 'on', 'ignoring', 'offset', 'bool', 'absent', 'time', 'vector', 'scalar', 'topk']);

/** The metric names a PromQL expression reads (label names, strings, ranges and functions taken out). */
function metricNames(expr: string): string[] {
  const bare = withoutGrafanaVariables(expr)
    .replace(/"[^"]*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, '')
    .replace(/\boffset\s+\w+/g, '')
    .replace(/\b\d+(\.\d+)?(e\d+)?\b/g, '');
  return [...new Set((bare.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? []).filter((word) => !PROMQL_WORDS.has(word)))];
}

describe('alert rules and dashboard, checked by promtool', () => {
  it('the rules pass promtool check rules', async () => {
    const run = await promtool(['check', 'rules', 'aircharge.rules.yml'], join(OPS, 'prometheus'));
    // Every alert of the file read, none dropped.
    const alerts = [...readFileSync(RULES, 'utf8').matchAll(/- alert: /g)].length;
    expect(alerts).toBeGreaterThanOrEqual(13);
    expect(run.output).toContain(`SUCCESS: ${alerts} rules found`);
    expect(run.code).toBe(0);
  });

  it('every alert fires on the series that should fire it and stays quiet otherwise (promtool test rules)', async () => {
    const run = await promtool(['test', 'rules', 'aircharge.rules.test.yml'], join(OPS, 'prometheus'));
    expect(run.output).toMatch(/SUCCESS/);
    expect(run.code).toBe(0);
    // Every alert of the rules file has a test.
    const tested = readFileSync(join(OPS, 'prometheus', 'aircharge.rules.test.yml'), 'utf8');
    for (const [, alert] of readFileSync(RULES, 'utf8').matchAll(/- alert: (\w+)/g)) expect(tested).toContain(`alertname: ${alert}`);
  });

  it('every dashboard query is valid PromQL', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aircharge-dashboard-'));
    try {
      const exprs = dashboardExpressions();
      expect(exprs.length).toBeGreaterThan(20);
      const rules = exprs.map((expr, i) => `      - record: dashboard_query_${i}\n        expr: ${JSON.stringify(withoutGrafanaVariables(expr))}`);
      writeFileSync(join(dir, 'dashboard.rules.yml'), `groups:\n  - name: dashboard\n    rules:\n${rules.join('\n')}\n`);
      const run = await promtool(['check', 'rules', 'dashboard.rules.yml'], dir);
      expect(run.output).toMatch(new RegExp(`SUCCESS: ${exprs.length} rules found`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives every dashboard panel an id of its own (Grafana keeps one of two panels with the same id)', () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Array<{ id: number; title: string }> };
    const ids = dashboard.panels.map((panel) => panel.id);
    expect(ids.every((id) => Number.isInteger(id))).toBe(true);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
  });

  it('reads metric names out of PromQL (the check below depends on it)', () => {
    expect(metricNames('histogram_quantile(0.99, sum by (le) (rate(aircharge_request_duration_seconds_bucket{type="PAY"}[5m]))) > 1'))
      .toEqual(['aircharge_request_duration_seconds_bucket']);
    expect(metricNames('sum(a_total{x="y"}) / sum(b_total offset 1h) and on(instance) up{job="aircharge"} == 0'))
      .toEqual(['a_total', 'b_total', 'up']);
  });
});

describe('a live gateway exports every metric the rules and the dashboard use', () => {
  const MASTER_KEY = randomBytes(32);
  let redis: RedisProcess;
  let child: ChildProcess | undefined;
  let terminalKey: Buffer;

  beforeAll(async () => {
    redis = await startRedis();
    const client = redis.client();
    try {
      const admin = createAdmin({ redis: client, masterKey: MASTER_KEY, operator: 'test' });
      await admin.addMerchant('obs-shop', 'Shop');
      await admin.topUp('obs-shop', 100_000);
      await admin.importAccounts('account,name,bill_id,period,amount,issue_date,status\n5550001111,Li Si,B1,202609,80.00,2026-09-05,open\n');
      terminalKey = Buffer.from((await admin.addTerminal('OBS00001', 'obs-shop')).key, 'hex');
    } finally {
      client.disconnect();
    }
  });
  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await redis?.stop();
  });

  it('after sign-in, inquiry, pay, correct and a top-up', async () => {
    child = spawn(process.execPath, [MAIN, 'serve', '--allow-unauthenticated-redis', '--port', '0', '--host', '127.0.0.1', '--redis', redis.url,
      '--instance-id', 'obs-gw', '--metrics-port', '0'],
    { env: { ...process.env, AIRCHARGE_MASTER_KEY: MASTER_KEY.toString('hex') }, stdio: ['ignore', 'pipe', 'inherit'] });
    const lines: Array<Record<string, unknown>> = [];
    const listening = new Promise<Record<string, unknown>>((resolve, reject) => {
      child!.once('exit', (code) => reject(new Error(`serve exited with ${code}`)));
      createInterface({ input: child!.stdout! }).on('line', (line) => {
        const entry = JSON.parse(line) as Record<string, unknown>;
        lines.push(entry);
        if (entry.msg === 'listening') resolve(entry);
      });
    });
    const started = await listening;
    const { version, commit } = JSON.parse(JSON.stringify(buildInfo())) as { version: string; commit: string };
    expect(started).toMatchObject({ version, commit: expect.stringMatching(/^([0-9a-f]{12}|unknown)$/) });
    expect(commit).toBeDefined();

    const t = await TestTerminal.connect(started.port as number, 'OBS00001', terminalKey);
    try {
      expect((await t.signIn()).response.result).toBe(ResultCode.APPROVED);
      expect((await t.request(MessageType.INQUIRY, { account: '5550001111' })).response.result).toBe(ResultCode.APPROVED);
      expect((await t.request(MessageType.INQUIRY, { account: '5550009999' })).response.result).toBe(ResultCode.UNKNOWN_ACCOUNT);
      const paid = await t.request(MessageType.PAY, { account: '5550001111', amountFen: 3_000 });
      expect(paid.response.result).toBe(ResultCode.APPROVED);
      // The same payment again (a retransmission) is not counted twice.
      const again = await t.request(MessageType.PAY, { account: '5550001111', amountFen: 3_000 }, { seq: paid.frame.seq, retransmit: true });
      expect(again.response.receipt).toBe(paid.response.receipt);
      const corrected = await t.request(MessageType.CORRECT, { receipt: paid.response.receipt, account: '5550001111', amountFen: 3_000 });
      expect(corrected.response.result).toBe(ResultCode.APPROVED);

      const metricsPort = lines.find((entry) => entry.msg === 'metrics listening')?.port as number;
      const scraped = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      const exported = new Set([...scraped.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/gm)].map((m) => m[1]!));

      // `up` is Prometheus's own, written for every target it scrapes.
      const used = [...new Set([...ruleExpressions(), ...dashboardExpressions()].flatMap(metricNames))].filter((name) => name !== 'up');
      expect(used.length).toBeGreaterThan(15);
      expect(used.filter((name) => !exported.has(name))).toEqual([]);

      const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(scraped)?.[1]);
      expect(value('aircharge_payments_total')).toBe(1);
      expect(value('aircharge_payments_fen_total')).toBe(3_000);
      expect(value('aircharge_corrections_total')).toBe(1);
      expect(value('aircharge_corrections_fen_total')).toBe(3_000);
      expect(value('aircharge_terminals_signed_in')).toBe(1);
      expect(value('aircharge_topups_total')).toBe(1);
      expect(value('aircharge_topups_fen_total')).toBe(100_000);
      expect(value('aircharge_fleet_lease_held')).toBe(1);
      expect(value(`aircharge_build_info{version="${version}",commit="${started.commit as string}",node="${process.version}"}`)).toBe(1);
    } finally {
      t.cut();
    }
  });
});

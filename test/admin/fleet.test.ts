/**
 * The fleet (`aircharge terminal list`), end to end: redis-server, a gateway (`aircharge serve`),
 * simulator terminals sending heartbeats with their health (`aircharge-sim heartbeat` as a
 * process, and one held online in this process), and the admin CLI as a process.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdmin, type Admin, type FleetPage, type Terminal as FleetTerminal } from '../../src/admin/index.js';
import { PowerSource, PrinterState } from '../../protocol/constants.js';
import type { TerminalHealth } from '../../protocol/messages.js';
import { keys } from '../../src/store/keys.js';
import { DEMO_MASTER_KEY } from '../../src/store/secrets.js';
import { SIM_BIN, startGateway, type GatewayService } from '../../simulator/processes.js';
import { MemoryStateStore, Terminal } from '../../simulator/terminal/index.js';
import { runAircharge } from '../helpers/cli.js';
import { startRedis, type RedisProcess } from '../helpers/redis.js';

const INSTANCE = 'gw-fleet-1';
const HOUR = 3_600_000;

let redis: RedisProcess;
let client: Redis;
let admin: Admin;
let gateway: GatewayService;
let work: string;
let online: Terminal;
const terminalKeys = new Map<string, string>();

function sim(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SIM_BIN, ...args], { timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

const aircharge = (args: string[]) => runAircharge([...args, '--redis', redis.url], {});

async function list(args: string[] = []): Promise<FleetPage> {
  const run = await aircharge(['terminal', 'list', '--json', ...args]);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as FleetPage;
}

const byId = (page: FleetPage, id: string): FleetTerminal => page.terminals.find((t) => t.terminalId === id)!;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'aircharge-fleet-'));
  redis = await startRedis();
  client = redis.client();
  admin = createAdmin({ redis: client, masterKey: DEMO_MASTER_KEY, operator: 'seed' });
  await admin.addMerchant('SHOP1', 'Dongcun Grocery');
  for (const id of ['FLT00001', 'FLT00002', 'FLT00003', 'FLT00004']) terminalKeys.set(id, (await admin.addTerminal(id, 'SHOP1')).key);
  gateway = await startGateway({ redisUrl: redis.url, logFile: join(work, 'gateway.log'), args: ['--connection-rate', '0', '--instance-id', INSTANCE] });

  // FLT00001: one heartbeat from a terminal in trouble, then it goes away.
  const troubled = await sim(['heartbeat', '--port', String(gateway.port), '--terminal', 'FLT00001', '--key', terminalKeys.get('FLT00001')!,
    '--state', join(work, 'sim'), '--signal', '6', '--power', 'battery', '--battery', '23', '--printer', 'paper-out', '--firmware', 'FW2.0.1', '--json']);
  expect(troubled.code, troubled.stderr).toBe(0);
  // FLT00002: over the `bad` link, whose terminals report a weak signal unless told otherwise.
  const bad = await sim(['heartbeat', '--port', String(gateway.port), '--terminal', 'FLT00002', '--key', terminalKeys.get('FLT00002')!,
    '--state', join(work, 'sim'), '--link', 'bad', '--seed', '3', '--json']);
  expect(bad.code, bad.stderr).toBe(0);
  // FLT00003: online, held here. FLT00004: never seen, but one sign-in with a wrong key.
  online = new Terminal({ terminalId: 'FLT00003', key: Buffer.from(terminalKeys.get('FLT00003')!, 'hex'), gateway: { host: '127.0.0.1', port: gateway.port },
    store: new MemoryStateStore('FLT00003'), heartbeatSec: 0, firmware: 'FW1.4.2' });
  expect((await online.heartbeat()).name).toBe('APPROVED');
  const wrongKey = await sim(['signin', '--port', String(gateway.port), '--terminal', 'FLT00004', '--key', 'ab'.repeat(32), '--state', join(work, 'sim'), '--json']);
  expect(JSON.parse(wrongKey.stdout)).toMatchObject({ ok: false, code: 'UNKNOWN_TERMINAL' });
}, 120_000);

afterAll(async () => {
  online?.close();
  await gateway?.stop();
  client?.disconnect();
  await redis?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
}, 60_000);

describe('aircharge terminal list', () => {
  it('shows each terminal online or offline, last seen, instance, firmware, last sign-in, bad MACs and its latest health', async () => {
    const started = Date.now() - 120_000;
    const page = await list();
    expect(page.terminals.map((t) => t.terminalId)).toEqual(['FLT00001', 'FLT00002', 'FLT00003', 'FLT00004']);
    expect(page.cursor).toBeNull();

    const troubled = byId(page, 'FLT00001');
    expect(troubled).toMatchObject({ online: false, instance: null, firmware: 'FW2.0.1', badMacs: 0,
      health: { signal: 6, signalClass: 'weak', power: 'battery', battery: 23, printer: 'paper-out' } });
    expect(troubled.lastSeen).toBeGreaterThan(started);
    expect(troubled.signedInAt).toBeGreaterThan(started);
    expect(troubled.healthAt).toBeGreaterThanOrEqual(troubled.signedInAt!);

    expect(byId(page, 'FLT00002').health).toMatchObject({ signal: 7, signalClass: 'weak', power: 'mains', printer: 'ok' });

    const held = byId(page, 'FLT00003');
    expect(held).toMatchObject({ online: true, instance: INSTANCE, firmware: 'FW1.4.2', health: { signal: 20, signalClass: 'ok', battery: 100, printer: 'ok' } });
    expect(held.lastSeen).toBeGreaterThan(started);

    expect(byId(page, 'FLT00004')).toMatchObject({ online: false, lastSeen: null, instance: null, firmware: null, signedInAt: null, health: null, badMacs: 1 });
  }, 60_000);

  it('prints text with local times, and CSV', async () => {
    const text = await aircharge(['terminal', 'list', '--utc-offset', '480']);
    expect(text.code, text.stderr).toBe(0);
    const lines = text.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^FLT00001 {2}SHOP1 {2}active {2}offline {2}seen \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+08:00 {2}firmware FW2\.0\.1 {2}signed in .* {2}bad MACs 0 {2}signal 6 weak, battery, battery 23%, printer paper-out/);
    expect(lines[2]).toContain(`online on ${INSTANCE}`);
    expect(lines[3]).toContain('offline  never seen  bad MACs 1  health not reported');

    const csv = await aircharge(['terminal', 'list', '--csv']);
    const rows = csv.stdout.trim().split('\n');
    expect(rows[0]).toBe('terminal,merchant,status,online,last_seen,instance,firmware,signed_in,bad_macs,signal,signal_class,power,battery,printer,health_at,key_version,last_seq');
    expect(rows[1]).toMatch(/^FLT00001,SHOP1,active,offline,\d{4}-[^,]+,,FW2\.0\.1,[^,]+,0,6,weak,battery,23,paper-out,[^,]+,1,\d+$/);
    expect(rows[3]).toContain(`,online,`);
    expect(rows[4]).toBe('FLT00004,SHOP1,active,offline,,,,,1,,,,,,,1,0');
  }, 60_000);

  it('--offline-since lists the terminals not seen for that long, never-seen ones included', async () => {
    expect((await list(['--offline-since', '1h'])).terminals.map((t) => t.terminalId)).toEqual(['FLT00004']);
    // FLT00001 was last heard from two hours ago (its mark set back, as time passing would).
    await client.hset(keys.terminal('SHOP1', 'FLT00001'), 'lastSeen', Date.now() - 2 * HOUR);
    expect((await list(['--offline-since', '1h'])).terminals.map((t) => t.terminalId)).toEqual(['FLT00001', 'FLT00004']);
    expect((await list(['--offline-since', '90m'])).terminals.map((t) => t.terminalId)).toEqual(['FLT00001', 'FLT00004']);
    expect((await list(['--offline-since', '3h'])).terminals.map((t) => t.terminalId)).toEqual(['FLT00004']);
    expect((await list(['--offline-since', '2d'])).terminals.map((t) => t.terminalId)).toEqual(['FLT00004']);

    const wrong = await aircharge(['terminal', 'list', '--offline-since', 'an hour', '--json']);
    expect(wrong.code).toBe(1);
    expect(JSON.parse(wrong.stdout)).toMatchObject({ error: { code: 'ERR_INVALID' } });
  }, 60_000);

  it('pages with --limit and --cursor', async () => {
    const first = await list(['--limit', '3']);
    expect(first.terminals.map((t) => t.terminalId)).toEqual(['FLT00001', 'FLT00002', 'FLT00003']);
    expect(first.cursor).toBe('FLT00003');
    const second = await list(['--limit', '3', '--cursor', first.cursor!]);
    expect(second.terminals.map((t) => t.terminalId)).toEqual(['FLT00004']);
    expect(second.cursor).toBeNull();
    const text = await aircharge(['terminal', 'list', '--limit', '2']);
    expect(text.stdout.trim().split('\n').at(-1)).toBe('more: --cursor FLT00002');
  }, 60_000);

  it('marks a terminal offline once it disconnects, keeping when it was last seen', async () => {
    online.close();
    let held = byId(await list(), 'FLT00003');
    for (let i = 0; i < 100 && held.online; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      held = byId(await list(), 'FLT00003');
    }
    expect(held).toMatchObject({ online: false, instance: null, firmware: 'FW1.4.2', health: { signal: 20 } });
    expect(held.lastSeen).toBeGreaterThan(Date.now() - 120_000);
  }, 60_000);

  it('keeps a health report that changed at once, an unchanged one once per 10 s however fast the terminal beats, and raises the mark each time', async () => {
    const key = (await admin.addTerminal('FLT00005', 'SHOP1')).key;
    const health: TerminalHealth = { signal: 18, power: PowerSource.MAINS, battery: 100, printer: PrinterState.OK };
    const beating = new Terminal({ terminalId: 'FLT00005', key: Buffer.from(key, 'hex'), gateway: { host: '127.0.0.1', port: gateway.port },
      store: new MemoryStateStore('FLT00005'), heartbeatSec: 0, health });
    try {
      const stored = async () => {
        const [healthAt, kept, hwm] = await client.hmget(keys.terminal('SHOP1', 'FLT00005'), 'healthAt', 'health', 'hwm');
        return { healthAt: Number(healthAt), kept, hwm: Number(hwm) };
      };
      /** What the gateway wrote, once its write (not waited on by the answer) has landed. */
      const settled = async (seq: number) => {
        for (let i = 0; i < 100 && (await stored()).hwm < seq; i++) await new Promise((resolve) => setTimeout(resolve, 20));
        return stored();
      };
      let answer = await beating.heartbeat();
      expect(answer.name).toBe('APPROVED');
      const first = await settled(answer.seq);
      expect(first.kept).toBe(`18:${PowerSource.MAINS}:100:${PrinterState.OK}`);
      // Fifty more, unchanged, as fast as they are answered: every number reaches the mark, the health is not written again.
      for (let i = 0; i < 50; i++) {
        answer = await beating.heartbeat();
        expect(answer.name).toBe('APPROVED');
      }
      const unchanged = await settled(answer.seq);
      expect(unchanged.hwm).toBe(answer.seq);
      expect(unchanged.healthAt).toBe(first.healthAt);
      // Paper out: the next heartbeat's report is written at once.
      health.printer = PrinterState.PAPER_OUT;
      answer = await beating.heartbeat();
      const changed = await settled(answer.seq);
      expect(changed.kept).toBe(`18:${PowerSource.MAINS}:100:${PrinterState.PAPER_OUT}`);
      expect(changed.healthAt).toBeGreaterThan(first.healthAt);
    } finally {
      beating.close();
    }
  }, 60_000);
});

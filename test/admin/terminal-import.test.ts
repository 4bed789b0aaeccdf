/**
 * `aircharge terminal import FILE --keys-out KEYS`, run as a process against a real redis-server:
 * 20,000 rows (how fast: bench:import), keys only in a new mode-0600 file (never on stdout, never over an
 * existing file), a re-run changes nothing and shows no key, conflicts and bad rows refuse the
 * whole file, the import is in the audit log, and the simulator signs in with a key read from the
 * file through a live gateway.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayService } from '../../simulator/processes.js';
import { keys } from '../../src/store/keys.js';
import { startRedis, type RedisProcess } from '../helpers/redis.js';

const MAIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const SIM = fileURLToPath(new URL('../../dist/simulator/cli/main.js', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let redisServer: RedisProcess;
let redis: Redis;
let dir: string;

function exec(file: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [file, ...args],
      { env: { ...process.env, REDIS_URL: redisServer.url, AIRCHARGE_OPERATOR: 'ops-test' }, timeout: 120_000, maxBuffer: 64 << 20 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }));
  });
}
const aircharge = (args: string[]) => exec(MAIN, [...args, '--demo']);

/** merchants × perMerchant rows: merchant M<prefix><n>, terminals <prefix><6 digits>. */
function terminalsCsv(prefix: string, merchants: number, perMerchant: number): string {
  const lines = ['merchant_id,merchant_name,terminal_id'];
  for (let m = 0; m < merchants; m++) {
    for (let t = 0; t < perMerchant; t++) {
      lines.push(`M${prefix}${m},"Shop ${m}, Village ${prefix}",${prefix}${String(m * perMerchant + t).padStart(6, '0')}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

beforeAll(async () => {
  redisServer = await startRedis();
  redis = redisServer.client();
  dir = mkdtempSync(join(tmpdir(), 'aircharge-import-'));
});
afterAll(async () => {
  redis?.disconnect();
  await redisServer?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('aircharge terminal import', () => {
  // How fast is bench:import's to say (target: under 30 s); this is what the 20,000 rows give.
  it('provisions 20,000 rows, with the keys only in a new 0600 file', async () => {
    const csv = join(dir, 'big.csv');
    writeFileSync(csv, terminalsCsv('BG', 10_000, 2));
    const keysOut = join(dir, 'big-keys.csv');
    const run = await aircharge(['terminal', 'import', csv, '--keys-out', keysOut, '--json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      rows: 20_000, merchants: { created: 10_000, existing: 0 }, terminals: { created: 20_000, existing: 0 }, keysFile: keysOut,
    });

    expect(statSync(keysOut).mode & 0o777).toBe(0o600);
    const lines = readFileSync(keysOut, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('terminal_id,merchant_id,key');
    expect(lines).toHaveLength(20_001);
    const [terminalId, merchantId, key] = lines[12_345]!.split(',');
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(run.stdout).not.toContain(key);
    expect(await redis.get(keys.terminalMerchant(terminalId!))).toBe(merchantId);
    expect(await redis.hget(keys.merchant('MBG9999'), 'name')).toBe('Shop 9999, Village BG');
    expect(await redis.scard(keys.terminals('MBG4321'))).toBe(2);
    expect(await redis.hget(keys.terminal(merchantId!, terminalId!), 'keyEnc')).not.toContain(key);

    const audit = await exec(MAIN, ['audit', 'list', '--action', 'terminal.import', '--json']);
    const entries = (JSON.parse(audit.stdout) as { entries: Array<{ operator: string; after: unknown }> }).entries;
    expect(entries[0]).toMatchObject({ operator: 'ops-test', after: { rows: 20_000, terminals: { created: 20_000, existing: 0 } } });
    expect(audit.stdout).not.toContain(key);
  }, 120_000);

  it('a re-run changes nothing and writes no key; a later file with new rows adds only those', async () => {
    const csv = join(dir, 'small.csv');
    writeFileSync(csv, terminalsCsv('SM', 3, 2));
    expect((await aircharge(['terminal', 'import', csv, '--keys-out', join(dir, 'small-1.csv')])).code).toBe(0);
    const first = readFileSync(join(dir, 'small-1.csv'), 'utf8');

    const again = await aircharge(['terminal', 'import', csv, '--keys-out', join(dir, 'small-2.csv'), '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ merchants: { created: 0, existing: 3 }, terminals: { created: 0, existing: 6 } });
    expect(readFileSync(join(dir, 'small-2.csv'), 'utf8')).toBe('terminal_id,merchant_id,key\n');

    writeFileSync(csv, `${readFileSync(csv, 'utf8')}MSM2,"Shop 2, Village SM",SM000099\nMSMNEW,New shop,SM000100\n`);
    const more = await aircharge(['terminal', 'import', csv, '--keys-out', join(dir, 'small-3.csv'), '--json']);
    expect(JSON.parse(more.stdout)).toMatchObject({ merchants: { created: 1, existing: 3 }, terminals: { created: 2, existing: 6 } });
    expect(readFileSync(join(dir, 'small-3.csv'), 'utf8').trim().split('\n').map((l) => l.split(',')[0])).toEqual(['terminal_id', 'SM000099', 'SM000100']);
    expect(readFileSync(join(dir, 'small-1.csv'), 'utf8')).toBe(first);
  }, 120_000);

  it('never writes over an existing file, and then touches nothing', async () => {
    const csv = join(dir, 'ow.csv');
    writeFileSync(csv, terminalsCsv('OW', 1, 1));
    const keysOut = join(dir, 'ow-keys.csv');
    writeFileSync(keysOut, 'precious\n');
    const run = await aircharge(['terminal', 'import', csv, '--keys-out', keysOut, '--json']);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ error: { code: 'ERR_EXISTS' } });
    expect(run.stderr).toMatch(/exists: keys are never written over another file/);
    expect(readFileSync(keysOut, 'utf8')).toBe('precious\n');
    expect(await redis.exists(keys.merchant('MOW0'))).toBe(0);
  });

  it('refuses the whole file on conflicts with what is provisioned or on bad rows, listing each, and leaves no keys file', async () => {
    const csv = join(dir, 'conflict.csv');
    // SM000000 belongs to MSM0 (test above); MSM1 is named otherwise there.
    writeFileSync(csv, 'merchant_id,merchant_name,terminal_id\nMCF0,Fresh,CF000001\nMCF0,Fresh,SM000000\nMSM1,Another name,CF000002\n');
    const keysOut = join(dir, 'conflict-keys.csv');
    const run = await aircharge(['terminal', 'import', csv, '--keys-out', keysOut, '--json']);
    expect(run.code).toBe(1);
    const { error } = JSON.parse(run.stdout) as { error: { code: string; details: string[] } };
    expect(error.code).toBe('ERR_CONFLICT');
    expect(error.details).toEqual([
      'line 3: terminal SM000000 exists under merchant MSM0',
      'merchant MSM1 exists named "Shop 1, Village SM", the file says "Another name"',
    ]);
    expect(existsSync(keysOut)).toBe(false);
    expect(await redis.exists(keys.merchant('MCF0'))).toBe(0);
    expect(await redis.get(keys.terminalMerchant('CF000001'))).toBeNull();

    writeFileSync(csv, 'merchant_id,merchant_name,terminal_id\nMBD0,Shop,BD000001\nMBD0,Other,BD000003\nMBD1,Shop,bad\nMBD1,Shop,BD000001\nonly,two\n');
    const bad = await aircharge(['terminal', 'import', csv, '--keys-out', keysOut, '--json']);
    expect(bad.code).toBe(1);
    const refused = (JSON.parse(bad.stdout) as { error: { code: string; details: string[] } }).error;
    expect(refused.code).toBe('ERR_CSV');
    expect(refused.details).toEqual([
      'line 3: merchant MBD0 is named "Shop" on an earlier line',
      expect.stringMatching(/^line 4: bad terminal id "bad"/),
      'line 5: terminal BD000001 is already on line 2',
      'line 6: 2 fields, expected 3',
    ]);
    expect(existsSync(keysOut)).toBe(false);
    expect(await redis.exists(keys.merchant('MBD0'))).toBe(0);
  });

  it('the simulator signs in with a key read from the keys file', async () => {
    const csv = join(dir, 'sim.csv');
    writeFileSync(csv, terminalsCsv('SI', 1, 2));
    const keysOut = join(dir, 'sim-keys.csv');
    expect((await aircharge(['terminal', 'import', csv, '--keys-out', keysOut])).code).toBe(0);
    let gateway: GatewayService | undefined;
    try {
      gateway = await startGateway({ redisUrl: redisServer.url, logFile: join(dir, 'gateway.log') });
      const common = ['--port', String(gateway.port), '--terminal', 'SI000001', '--state', join(dir, 'sim-state'), '--json'];
      const signedIn = await exec(SIM, ['signin', ...common, '--keys-file', keysOut]);
      expect(signedIn.stderr).toBe('');
      expect(JSON.parse(signedIn.stdout)).toMatchObject({ ok: true, code: 'APPROVED' });
      const unknown = await exec(SIM, ['signin', ...common.map((a) => (a === 'SI000001' ? 'SI000077' : a)), '--keys-file', keysOut]);
      expect(unknown.code).not.toBe(0);
      expect(unknown.stderr).toMatch(/no key for terminal SI000077/);
    } finally {
      await gateway?.stop();
    }
  }, 120_000);
});

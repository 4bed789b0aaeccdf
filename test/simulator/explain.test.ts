import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { MacKey, VectorKeys } from '../../protocol/vectors/format.js';
import { explainFrame, extractFrameBytes, readCapture } from '../../simulator/cli/explain.js';
import { startGateway, type GatewayService } from '../../simulator/processes.js';
import { createAdmin } from '../../src/admin/index.js';
import { DEMO_MASTER_KEY } from '../../src/store/secrets.js';
import { startRedis } from '../helpers/redis.js';
import { macKeyOf } from '../protocol/vectors.js';

const run = promisify(execFile);
const VECTORS = join(import.meta.dirname, '../../protocol/vectors');
const SIM = join(import.meta.dirname, '../../dist/simulator/cli/main.js');

interface Vector {
  name: string;
  hex: string;
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  mac: string;
  crc: string;
  macKey: MacKey;
  keys: VectorKeys;
}

function load(dir: string): Vector[] {
  return readdirSync(join(VECTORS, dir))
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(VECTORS, dir, f), 'utf8')) as Vector);
}

const valid = load('valid');

describe('aircharge-sim explain', () => {
  it('has the golden vectors to read', () => {
    expect(valid.length).toBeGreaterThanOrEqual(30);
  });

  it.each(valid.map((v) => [v.name, v] as const))('explains %s field by field, CRC and MAC checked', (_name, v) => {
    const e = explainFrame(Buffer.from(v.hex, 'hex'), macKeyOf(v));
    expect(e.ok).toBe(true);
    expect(e.header).toMatchObject(v.header);
    expect(e.payload.fields).toMatchObject(v.payload);
    expect(e.crc).toEqual({ stored: `0x${v.crc}`, computed: `0x${v.crc}`, ok: true });
    expect(e.mac).toEqual({ hex: v.mac, check: v.macKey === 'none' ? 'zero' : 'ok' });
  });

  it('finds the frame in a hex dump with spaces, colons and a log line around it', () => {
    const v = valid.find((x) => x.name === '05-pay-request')!;
    const spaced = v.hex.match(/../g)!.join(' ');
    const coloned = v.hex.toUpperCase().match(/../g)!.join(':');
    for (const text of [`{"level":20,"msg":"frame in","hex":"${v.hex}"}`, `rx: ${spaced}`, coloned]) {
      expect(extractFrameBytes(text)?.toString('hex')).toBe(v.hex);
    }
    expect(extractFrameBytes('no frame here 1234')).toBeNull();
  });

  it('flags a bad CRC and a bad MAC, and still shows the header', () => {
    for (const name of ['bad-crc', 'bad-mac']) {
      const bad = JSON.parse(readFileSync(join(VECTORS, 'invalid', `${name}.json`), 'utf8')) as Partial<Vector> & { hex: string };
      const e = explainFrame(Buffer.from(bad.hex, 'hex'), bad.keys ? Buffer.from(bad.keys.sessionKey, 'hex') : null);
      expect(e.ok).toBe(false);
      expect(e.header.typeName).toBe('PAY');
      if (name === 'bad-crc') expect(e.crc.ok).toBe(false);
      else expect([e.crc.ok, e.mac.check]).toEqual([true, 'mismatch']);
    }
  });

  it('runs as a command: human text, --json, and exit codes', async () => {
    const v = valid.find((x) => x.name === '14-status-response-answered')!;
    const human = await run(process.execPath, [SIM, 'explain', `captured: ${v.hex.match(/../g)!.join(' ')}`, '--session-key', v.keys.sessionKey]);
    expect(human.stdout).toContain('STATUS_RESPONSE');
    expect(human.stdout).toMatch(/mac\s+\w+\s+ok under the given key/);
    expect(human.stdout).toMatch(/receipt\s+AC0000010000000003/);

    const json = await run(process.execPath, [SIM, 'explain', v.hex, '--json', '--key', v.keys.sessionKey]);
    const parsed = JSON.parse(json.stdout) as { ok: boolean; payload: { fields: { original: { receipt: string } } } };
    expect(parsed.ok).toBe(true);
    expect(parsed.payload.fields.original.receipt).toBe('AC0000010000000003');

    // The terminal key and the sign-in's nonces give the session key.
    const pay = valid.find((x) => x.name === '05-pay-request')! as Vector & { keys: { terminalNonce: string; gatewayNonce: string } };
    const derived = await run(process.execPath, [SIM, 'explain', pay.hex, '--key', pay.keys.terminalKey, '--terminal-nonce', pay.keys.terminalNonce, '--gateway-nonce', pay.keys.gatewayNonce, '--json']);
    expect((JSON.parse(derived.stdout) as { mac: { check: string } }).mac.check).toBe('ok');

    const wrongKey = await run(process.execPath, [SIM, 'explain', v.hex, '--key', '00'.repeat(32)]).catch((e: { code: number }) => e);
    expect((wrongKey as { code: number }).code).toBe(1);
    const nothing = await run(process.execPath, [SIM, 'explain', 'hello']).catch((e: { code: number; stderr: string }) => e);
    expect((nothing as { code: number }).code).toBe(2);
  });
});

describe('aircharge-sim explain on real captures', () => {
  /** A tool's output for these bytes, as a field engineer would paste it. */
  async function dumpOf(tool: 'xxd' | 'hexdump', bytes: Buffer): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = execFile(tool === 'xxd' ? 'xxd' : 'hexdump', tool === 'xxd' ? [] : ['-C'], (error, stdout) => (error ? reject(error) : resolve(stdout)));
      child.stdin!.end(bytes);
    });
  }

  function explainProcess(args: string[], input: string): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = execFile(process.execPath, [SIM, 'explain', ...args], (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code) : 0, stdout, stderr }));
      child.stdin!.end(input);
    });
  }

  it.each(['xxd', 'hexdump'] as const)('reads %s output of every valid vector, whatever comes before the frame', async (tool) => {
    for (const v of valid) {
      const frame = Buffer.from(v.hex, 'hex');
      const dump = await dumpOf(tool, Buffer.concat([Buffer.from('noise'), frame]));
      const capture = readCapture(dump);
      expect(capture, `${v.name}\n${dump}`).toMatchObject({ source: tool, macMasked: false });
      expect(capture!.bytes.toString('hex'), v.name).toBe(v.hex);
    }
  });

  it('fills the lines hexdump squeezes into `*`', async () => {
    const bad = JSON.parse(readFileSync(join(VECTORS, 'invalid', 'bad-payload-name-too-long.json'), 'utf8')) as { hex: string };
    const dump = await dumpOf('hexdump', Buffer.from(bad.hex, 'hex'));
    expect(dump).toContain('\n*\n');
    expect(readCapture(dump)!.bytes.toString('hex')).toBe(bad.hex);
  });

  it('runs on xxd output from stdin and hexdump -C output from --file, naming NOTICE reasons and STATUS states', async () => {
    const notice = valid.find((x) => x.name.endsWith('-notice-idle-timeout'))!;
    const fromStdin = await explainProcess([], await dumpOf('xxd', Buffer.from(notice.hex, 'hex')));
    expect(fromStdin.code, fromStdin.stderr).toBe(0);
    expect(fromStdin.stdout).toContain('from      xxd output');
    expect(fromStdin.stdout).toMatch(/reason\s+0x03 IDLE_TIMEOUT/);

    const status = valid.find((x) => x.name.endsWith('-status-response-not-found'))!;
    const dir = mkdtempSync(join(tmpdir(), 'explain-'));
    try {
      const file = join(dir, 'capture.txt');
      writeFileSync(file, await dumpOf('hexdump', Buffer.from(status.hex, 'hex')));
      const fromFile = await explainProcess(['--file', file, '--json'], '');
      expect(fromFile.code, fromFile.stderr).toBe(0);
      expect(JSON.parse(fromFile.stdout)).toMatchObject({ source: 'hexdump', ok: true, payload: { fields: { state: 0, stateName: 'NOT_FOUND' } } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const answered = explainFrame(Buffer.from(valid.find((x) => x.name.endsWith('-status-response-answered'))!.hex, 'hex'), null);
    expect(answered.payload.fields).toMatchObject({ stateName: 'ANSWERED', originalTypeName: 'PAY_RESPONSE' });
    const disabled = explainFrame(Buffer.from(valid.find((x) => x.name.endsWith('-notice-terminal-disabled'))!.hex, 'hex'), null);
    expect(disabled.payload.fields).toMatchObject({ reasonName: 'TERMINAL_DISABLED' });
  });

  it("decodes the gateway's own `frame in` debug line: the MAC is masked there, said so, and not a failure", async () => {
    const redis = await startRedis();
    const client = redis.client();
    const work = mkdtempSync(join(tmpdir(), 'explain-log-'));
    let gateway: GatewayService | undefined;
    try {
      const admin = createAdmin({ redis: client, masterKey: DEMO_MASTER_KEY, operator: 'seed' });
      await admin.addMerchant('SHOP1', 'Dongcun Grocery');
      const { key } = await admin.addTerminal('LOG00001', 'SHOP1');
      const logFile = join(work, 'gateway.log');
      gateway = await startGateway({ redisUrl: redis.url, logFile, args: ['--connection-rate', '0', '--log-level', 'debug'] });
      const beat = await run(process.execPath, [SIM, 'heartbeat', '--port', String(gateway.port), '--terminal', 'LOG00001', '--key', key,
        '--state', join(work, 'sim'), '--signal', '6', '--power', 'battery', '--battery', '23', '--printer', 'paper-out', '--json']);
      expect(JSON.parse(beat.stdout)).toMatchObject({ code: 'APPROVED' });
      const lines = readFileSync(logFile, 'utf8').split('\n').filter((line) => line.includes('"frame in"'));
      const heartbeatLine = lines.find((line) => explainFrame(readCapture(line)!.bytes, null, { macMasked: true }).header.typeName === 'HEARTBEAT');
      expect(heartbeatLine, lines.join('\n')).toBeDefined();
      expect(heartbeatLine).toContain('****************');

      const text = await explainProcess([], `${heartbeatLine}\n`);
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toContain("from      the gateway's log line");
      expect(text.stdout).toMatch(/msg frame in, time \d{4}-\d\d-\d\dT[^,]+, conn /);
      expect(text.stdout).toContain('terminal  "LOG00001"');
      expect(text.stdout).toContain('MAC is masked there');
      expect(text.stdout).toMatch(/mac\s+\*{16}\s+masked in the gateway log/);
      expect(text.stdout).toMatch(/crc\s+0x[0-9a-f]{4}\s+not checked \(it covers the masked MAC\)/);
      expect(text.stdout).toMatch(/signal\s+6 weak/);
      expect(text.stdout).toMatch(/power\s+0x02 BATTERY/);
      expect(text.stdout).toMatch(/printer\s+0x03 PAPER_OUT/);
      expect(text.stdout).toContain('verdict   ok');

      const json = await explainProcess(['--json'], heartbeatLine!);
      expect(JSON.parse(json.stdout)).toMatchObject({
        ok: true, source: 'log', log: { msg: 'frame in' }, header: { terminalId: 'LOG00001' },
        mac: { hex: '*'.repeat(16), check: 'masked' }, crc: { computed: null, ok: null },
        payload: { fields: { signal: 6, signalName: 'weak', battery: 23, printerName: 'PAPER_OUT' } },
      });
      // The sign-in line too: the terminal key cannot check a masked MAC, and the command does not fail on it.
      const signIn = lines.find((line) => explainFrame(readCapture(line)!.bytes, null, { macMasked: true }).header.typeName === 'SIGN_IN')!;
      const keyed = await explainProcess(['--key', key], signIn);
      expect(keyed.code, keyed.stderr).toBe(0);
      expect(keyed.stdout).toMatch(/firmware\s+SIM-1\.0/);
    } finally {
      await gateway?.stop();
      client.disconnect();
      await redis.stop();
      rmSync(work, { recursive: true, force: true });
    }
  }, 90_000);
});

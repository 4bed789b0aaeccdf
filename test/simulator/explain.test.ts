import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { MacKey, VectorKeys } from '../../protocol/vectors/format.js';
import { explainFrame, extractFrameBytes } from '../../simulator/cli/explain.js';
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

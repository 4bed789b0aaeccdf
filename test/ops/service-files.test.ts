/**
 * The shipped service files: both systemd units pass `systemd-analyze verify` with no warning and
 * keep the properties operations relies on (drain before SIGKILL, file limit, sandbox, dedicated
 * user, environment file), and aircharge.env.example lists exactly the settings of
 * `aircharge serve` (SERVE_SETTINGS) with their defaults, so the file cannot drift from the code.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SERVE_SETTINGS, resolveServeConfig } from '../../src/config.js';
import { EXIT_GRACE_MS } from '../../src/cli/serve.js';
import { MASTER_KEY_ENV, PREVIOUS_MASTER_KEY_ENV } from '../../src/store/secrets.js';

const OPS = new URL('../../src/ops/', import.meta.url).pathname;
const UNITS = ['aircharge.service', 'aircharge-console.service'];
const BIN = '/usr/local/bin/aircharge';

/** `Key=value` lines of a unit's [Service] section (a key given twice keeps both values). */
function serviceSection(unit: string): Map<string, string[]> {
  const section = unit.split(/^\[Service\]$/m)[1]!.split(/^\[/m)[0]!;
  const entries = new Map<string, string[]>();
  for (const [, key, value] of section.matchAll(/^(\w+)=(.*)$/gm)) entries.set(key!, [...(entries.get(key!) ?? []), value!]);
  return entries;
}

/** The environment file as systemd reads it: `NAME=value`; `#NAME=value` is a documented default. */
function envExample(): { set: Map<string, string>; defaults: Map<string, string> } {
  const set = new Map<string, string>();
  const defaults = new Map<string, string>();
  for (const line of readFileSync(join(OPS, 'aircharge.env.example'), 'utf8').split('\n')) {
    const match = /^(#?)([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (!match) continue;
    const into = match[1] === '#' ? defaults : set;
    expect(set.has(match[2]!) || defaults.has(match[2]!), `${match[2]} listed twice`).toBe(false);
    into.set(match[2]!, match[3]!);
  }
  return { set, defaults };
}

describe('systemd units', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aircharge-units-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('pass systemd-analyze verify without a warning', async () => {
    // verify checks that ExecStart's program exists and is executable: point it at a stand-in,
    // the only change made to the shipped files.
    const bin = join(dir, 'aircharge');
    writeFileSync(bin, '#!/bin/sh\n');
    chmodSync(bin, 0o755);
    const paths = UNITS.map((name) => {
      const text = readFileSync(join(OPS, 'systemd', name), 'utf8');
      expect(text).toContain(`ExecStart=${BIN} `);
      const path = join(dir, name);
      writeFileSync(path, text.replaceAll(BIN, bin));
      return path;
    });
    const result = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile('systemd-analyze', ['verify', ...paths], (error, _stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, stderr }));
    });
    expect(result).toEqual({ code: 0, stderr: '' });
  });

  it('the check fails on a broken unit (an unknown key, a bad value)', async () => {
    const path = join(dir, 'broken.service');
    const text = readFileSync(join(OPS, 'systemd', 'aircharge.service'), 'utf8');
    writeFileSync(path, text.replace('LimitNOFILE=65536', 'LimitNOFILE=lots\nRestartt=always').replaceAll(BIN, join(dir, 'aircharge')));
    const stderr = await new Promise<string>((resolve) => execFile('systemd-analyze', ['verify', path], (_e, _o, err) => resolve(err)));
    expect(stderr).toMatch(/lots/);
    expect(stderr).toMatch(/Restartt/);
  });

  for (const name of UNITS) {
    it(`${name}: drains before SIGKILL, restarts on failure, sandboxed, runs as its own user`, () => {
      const service = serviceSection(readFileSync(join(OPS, 'systemd', name), 'utf8'));
      const one = (key: string) => {
        expect(service.get(key), key).toHaveLength(1);
        return service.get(key)![0]!;
      };
      expect(one('Restart')).toBe('on-failure');
      expect(one('KillSignal')).toBe('SIGTERM');
      expect(one('NoNewPrivileges')).toBe('yes');
      expect(one('ProtectSystem')).toBe('strict');
      expect(one('EnvironmentFile')).toBe('/etc/aircharge/aircharge.env');
      expect(one('User')).toBe('aircharge');
      expect(Number(one('LimitNOFILE'))).toBeGreaterThanOrEqual(8192);
      const drainMs = resolveServeConfig({}, {}).drainTimeoutMs;
      expect(Number(one('TimeoutStopSec').replace(/s$/, '')) * 1000).toBeGreaterThan(drainMs + EXIT_GRACE_MS);
    });
  }

  it('the gateway unit holds more descriptors than the default connection limit', () => {
    const service = serviceSection(readFileSync(join(OPS, 'systemd', 'aircharge.service'), 'utf8'));
    expect(Number(service.get('LimitNOFILE')![0])).toBeGreaterThan(resolveServeConfig({}, {}).limits.maxConnections + 100);
  });
});

describe('aircharge.env.example', () => {
  it('lists every serve setting once, each commented line with its default', () => {
    const { set, defaults } = envExample();
    for (const setting of SERVE_SETTINGS) {
      const listed = set.has(setting.env) || defaults.has(setting.env);
      expect(listed, `${setting.env} (${setting.flag}) missing`).toBe(true);
      if (defaults.has(setting.env)) expect(defaults.get(setting.env), setting.env).toBe(setting.default ?? '');
    }
  });

  it('lists nothing that is not a setting (a renamed variable would silently do nothing)', () => {
    const { set, defaults } = envExample();
    const known = new Set([...SERVE_SETTINGS.map((s) => s.env), MASTER_KEY_ENV, PREVIOUS_MASTER_KEY_ENV]);
    expect([...set.keys(), ...defaults.keys()].filter((name) => !known.has(name))).toEqual([]);
  });

  it('names the previous master key of a rotation by the variable serve reads', () => {
    expect(envExample().defaults.get(PREVIOUS_MASTER_KEY_ENV)).toBe('');
  });

  it('its values are accepted by serve as they stand', () => {
    const { set } = envExample();
    const env = Object.fromEntries([...set].filter(([name]) => name !== MASTER_KEY_ENV));
    const config = resolveServeConfig({}, env);
    expect(config.metrics?.port).toBe(9101);
    expect(config.redisUrl).toBe(env.REDIS_URL);
  });
});

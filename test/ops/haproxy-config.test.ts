/**
 * `aircharge ops haproxy-config`: renders the HAProxy configuration from flags, and what it
 * renders by default starts for real under a 20,000 open-file limit (prlimit), where the former
 * shipped maxconn of 50,000 could not. PROXY protocol v2 to the gateways is one flag.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/redis.js';

const MAIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const SHIPPED = fileURLToPath(new URL('../../src/ops/haproxy.cfg', import.meta.url));
const FD_LIMIT = '--nofile=20000:20000';

function run(command: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }));
  });
}

const render = (args: string[]) => run(process.execPath, [MAIN, 'ops', 'haproxy-config', ...args]);

describe('aircharge ops haproxy-config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aircharge-haproxy-config-'));
  let haproxy: ChildProcess | undefined;
  afterEach(() => {
    if (haproxy && haproxy.exitCode === null && haproxy.signalCode === null) haproxy.kill('SIGKILL');
    haproxy = undefined;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('renders by default exactly the shipped haproxy.cfg', async () => {
    const rendered = await render([]);
    expect(rendered.code).toBe(0);
    expect(rendered.stdout).toBe(readFileSync(SHIPPED, 'utf8'));
  });

  it('takes the listen port, the gateways, maxconn, stats, the admin socket and the rate from flags', async () => {
    const rendered = await render(['--listen', '127.0.0.1:17000', '--gateway', '10.0.1.5:7001/9101', '--gateway', '10.0.1.6:7002/9102',
      '--maxconn', '4000', '--stats', 'none', '--admin-socket', 'none', '--conn-rate', '0']);
    expect(rendered.code).toBe(0);
    const cfg = rendered.stdout;
    expect(cfg).toContain('    bind 127.0.0.1:17000\n');
    expect(cfg.match(/^ {4}server .*$/gm)).toEqual(['    server gw1 10.0.1.5:7001 check port 9101', '    server gw2 10.0.1.6:7002 check port 9102']);
    expect(cfg.match(/^ {4}maxconn \d+$/gm)).toEqual(['    maxconn 4000', '    maxconn 4000']);
    expect(cfg).not.toMatch(/listen stats|stats socket|sc_conn_rate|send-proxy/);
  });

  it('--proxy-protocol sends PROXY v2 to every gateway, and haproxy accepts it', async () => {
    const path = join(dir, 'proxy.cfg');
    expect((await render(['--proxy-protocol', '--admin-socket', 'none', '--out', path])).code).toBe(0);
    const cfg = readFileSync(path, 'utf8');
    expect(cfg).toMatch(/^ {4}default-server .* send-proxy-v2$/m);
    const checked = await run('haproxy', ['-c', '-f', path]);
    expect(checked.stdout + checked.stderr).toMatch(/Configuration file is valid/);
  });

  it('refuses a malformed flag in one line, exit 2', async () => {
    const rendered = await render(['--gateway', '10.0.1.5:7001']);
    expect(rendered.code).toBe(2);
    expect(rendered.stderr).toBe('aircharge ops haproxy-config: --gateway: expected HOST:PORT/METRICS_PORT, got "10.0.1.5:7001"\n');
  });

  /** Starts haproxy under the 20,000 file limit; resolves once its stats endpoint answers, or with its exit and output. */
  async function startLimited(cfgPath: string, statsPort: number): Promise<{ started: boolean; output: string }> {
    haproxy = spawn('prlimit', [FD_LIMIT, 'haproxy', '-db', '-f', cfgPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    haproxy.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    haproxy.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<void>((resolve) => haproxy!.once('exit', () => resolve()));
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (haproxy.exitCode !== null) return { started: false, output };
      const answered = await fetch(`http://127.0.0.1:${statsPort}/metrics`).then((r) => r.status === 200, () => false);
      if (answered) return { started: true, output };
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 200))]);
    }
    return { started: false, output };
  }

  it('the default starts for real under a 20,000 open-file limit; maxconn 50,000 could not', async () => {
    const limited = await run('prlimit', [FD_LIMIT, 'sh', '-c', 'ulimit -n']);
    expect(limited.stdout.trim()).toBe('20000');

    const flags = async () => ['--listen', `127.0.0.1:${await freePort()}`, '--admin-socket', join(dir, 'admin.sock')];
    const statsPort = await freePort();
    const path = join(dir, 'default.cfg');
    expect((await render([...await flags(), '--stats', `127.0.0.1:${statsPort}`, '--out', path])).code).toBe(0);
    const checked = await run('prlimit', [FD_LIMIT, 'haproxy', '-c', '-f', path]);
    expect(checked.stdout + checked.stderr).toMatch(/Configuration file is valid/);
    expect(await startLimited(path, statsPort)).toMatchObject({ started: true });
    haproxy!.kill('SIGTERM');

    const bigStats = await freePort();
    const big = join(dir, 'big.cfg');
    expect((await render([...await flags(), '--stats', `127.0.0.1:${bigStats}`, '--maxconn', '50000', '--out', big])).code).toBe(0);
    const refused = await startLimited(big, bigStats);
    expect(refused.started).toBe(false);
    expect(refused.output).toMatch(/Cannot raise FD limit/);
  });
});

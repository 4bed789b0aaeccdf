/**
 * The release as an operator installs it (src/ops/README.md, Install): `npm pack` builds dist/
 * (prepack) and packs it with the operations files; `npm install -g` of the tarball into a fresh
 * prefix, without dev dependencies, gives `aircharge` and `aircharge-sim` that print their
 * version, and `aircharge serve` that listens on a real Redis and drains on SIGTERM. And a git
 * checkout installed with `npm ci --omit=dev` no longer fails in `prepare` for want of tsc.
 *
 * The pack runs in a copy of the sources, so its build never rewrites the dist/ the other test
 * files are running from.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisProcess } from '../helpers/redis.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeout?: number }) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(command, args, { cwd: options.cwd, env: options.env ?? process.env, timeout: options.timeout ?? 240_000, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }));
  });
}

function gitOut(args: string[]): Promise<string> {
  return run('git', args, { cwd: ROOT }).then((r) => r.stdout.trim());
}

describe('the npm pack tarball', () => {
  const work = mkdtempSync(join(tmpdir(), 'aircharge-pack-'));
  const source = join(work, 'source');
  const prefix = join(work, 'prefix');
  let tarball = '';
  let commit = '';
  let redis: RedisProcess | undefined;
  /** One master key for the gateways of this file: they share the Redis. */
  const masterKey = randomBytes(32).toString('hex');

  beforeAll(async () => {
    for (const entry of ['package.json', 'package-lock.json', 'tsconfig.json', 'README.md', 'src', 'protocol', 'simulator']) {
      cpSync(join(ROOT, entry), join(source, entry), { recursive: true });
    }
    symlinkSync(join(ROOT, 'node_modules'), join(source, 'node_modules'), 'dir');
    // The copy is no checkout: point git at this one, so the build stamps the commit as in a checkout.
    const gitDir = await gitOut(['rev-parse', '--absolute-git-dir']);
    commit = await gitOut(['rev-parse', '--short=12', 'HEAD']);
    const packed = await run('npm', ['pack', '--pack-destination', work, '--no-audit', '--no-fund'],
      { cwd: source, env: { ...process.env, GIT_DIR: gitDir } });
    expect(packed.stderr + packed.stdout).not.toMatch(/npm error/i);
    expect(packed.code).toBe(0);
    tarball = join(work, readdirSync(work).find((name) => name.endsWith('.tgz'))!);
  }, 300_000);

  afterAll(async () => {
    await redis?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('holds the built program and the operations files, not the sources or the tests', async () => {
    const listed = (await run('tar', ['tzf', tarball], { cwd: work })).stdout.split('\n');
    for (const file of ['dist/src/cli/main.js', 'dist/simulator/cli/main.js', 'dist/build-info.json', 'src/ops/systemd/aircharge.service',
      'src/ops/systemd/aircharge-console.service', 'src/ops/aircharge.env.example', 'src/ops/prometheus/aircharge.rules.yml',
      'src/ops/grafana/aircharge.json', 'src/ops/README.md', 'protocol/PROTOCOL.md']) {
      expect(listed, file).toContain(`package/${file}`);
    }
    expect(listed.filter((file) => /^package\/(test\/|src\/.*\.ts$|dist\/.*\.map$)/.test(file))).toEqual([]);
  });

  it('installs with npm install -g into a fresh prefix, without dev dependencies', async () => {
    const installed = await run('npm', ['install', '-g', '--prefix', prefix, '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', tarball],
      { cwd: work });
    expect(installed.stderr).not.toMatch(/npm error/i);
    expect(installed.code).toBe(0);
    const modules = join(prefix, 'lib', 'node_modules', 'aircharge', 'node_modules');
    expect(existsSync(join(modules, 'ioredis'))).toBe(true);
    for (const dev of ['typescript', 'vitest', '@types']) expect(existsSync(join(modules, dev)), dev).toBe(false);
  }, 300_000);

  it('aircharge --version and aircharge-sim --version name the version and the commit it was built from', async () => {
    for (const bin of ['aircharge', 'aircharge-sim']) {
      const ran = await run(join(prefix, 'bin', bin), ['--version'], { cwd: work });
      expect(ran).toMatchObject({ code: 0, stdout: `${version} (commit ${commit})\n` });
    }
  });

  it('aircharge serve from the install listens, names its build, and drains on SIGTERM', async () => {
    redis = await startRedis();
    const child = spawn(join(prefix, 'bin', 'aircharge'), ['serve', '--allow-unauthenticated-redis', '--port', '0', '--host', '127.0.0.1', '--redis', redis.url, '--metrics-port', '0'],
      { cwd: work, env: { ...process.env, AIRCHARGE_MASTER_KEY: masterKey }, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const listening = await new Promise<Record<string, unknown>>((resolve, reject) => {
        child.once('exit', (code) => reject(new Error(`serve exited with ${code}`)));
        createInterface({ input: child.stdout! }).on('line', (line) => {
          const entry = JSON.parse(line) as Record<string, unknown>;
          if (entry.msg === 'listening') resolve(entry);
        });
      });
      expect(listening).toMatchObject({ version, commit });
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it('npx aircharge serve: SIGTERM to npx never reaches the gateway, which is why the docs start the bin', async () => {
    // A project with the tarball as its dependency, as npm install lays it out: npx finds the bin
    // in node_modules/.bin and runs it through `sh -c` as a grandchild.
    const project = join(work, 'npx-project');
    mkdirSync(join(project, 'node_modules', '.bin'), { recursive: true });
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'npx-project', version: '1.0.0', dependencies: { aircharge: version } }));
    symlinkSync(join(prefix, 'lib', 'node_modules', 'aircharge'), join(project, 'node_modules', 'aircharge'), 'dir');
    symlinkSync('../aircharge/dist/src/cli/main.js', join(project, 'node_modules', '.bin', 'aircharge'));
    redis ??= await startRedis();
    // An operator's shell, not the npm run this test may be under (its npm_config_local_prefix
    // would point npx at this checkout), and offline: the bin is local, the registry is not asked.
    const shell = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(npm_|INIT_CWD$)/i.test(name)));
    const npx = spawn('npx', ['aircharge', 'serve', '--allow-unauthenticated-redis', '--port', '0', '--host', '127.0.0.1', '--redis', redis.url],
      { cwd: project, env: { ...shell, npm_config_offline: 'true', AIRCHARGE_MASTER_KEY: masterKey }, stdio: ['ignore', 'pipe', 'pipe'] });
    let npxGone = false;
    const npxExited = new Promise<void>((resolve) => npx.once('exit', () => resolve()));
    void npxExited.then(() => (npxGone = true));
    const log: Array<Record<string, unknown>> = [];
    let stderr = '';
    npx.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    let stdout = '';
    npx.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    createInterface({ input: npx.stdout! }).on('line', (line) => log.push(JSON.parse(line) as Record<string, unknown>));
    let gatewayPid = 0;
    try {
      const deadline = Date.now() + 60_000;
      while (gatewayPid === 0) {
        if (npxGone || Date.now() > deadline) throw new Error(`npx aircharge serve did not start listening: ${stderr}${stdout}`);
        gatewayPid = Number(log.find((entry) => entry.msg === 'listening')?.pid ?? 0);
        await sleep(100);
      }
      expect(gatewayPid).not.toBe(npx.pid); // the gateway is npx's grandchild, not npx itself
      npx.kill('SIGTERM');
      await npxExited;
      // npm is gone; the gateway is not: it never heard the signal, so it neither drains nor stops.
      await sleep(2000);
      expect(isRunning(gatewayPid)).toBe(true);
      expect(log.map((entry) => entry.msg)).not.toContain('draining');
      // The same signal sent to the gateway itself drains it.
      process.kill(gatewayPid, 'SIGTERM');
      while (isRunning(gatewayPid) && Date.now() < deadline) await sleep(100);
      expect(isRunning(gatewayPid)).toBe(false);
    } finally {
      if (npx.exitCode === null && npx.signalCode === null) npx.kill('SIGKILL');
      if (gatewayPid !== 0 && isRunning(gatewayPid)) process.kill(gatewayPid, 'SIGKILL');
    }
  }, 120_000);
});

/** Whether a process with this id exists (signal 0 checks without sending anything). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('a git checkout installed with npm ci --omit=dev', () => {
  it('prepare skips the build with a pointer to the tarball instead of failing on a missing tsc', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aircharge-prepare-'));
    try {
      // No node_modules at all: TypeScript cannot be resolved, as after --omit=dev.
      writeFileSync(join(dir, 'package.json'), readFileSync(join(ROOT, 'package.json')));
      const ran = await run('npm', ['run', 'prepare'], { cwd: dir });
      expect(ran.code).toBe(0);
      expect(ran.stdout).toMatch(/TypeScript is not installed .* install the npm pack tarball/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

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
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
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
      { cwd: work, env: { ...process.env, AIRCHARGE_MASTER_KEY: randomBytes(32).toString('hex') }, stdio: ['ignore', 'pipe', 'pipe'] });
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
});

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

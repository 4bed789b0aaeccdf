/**
 * The master key leaves the process environment once read (issue 13 finding 9): a process that
 * took it (serve, console and the admin commands do, through takeMasterKey) no longer has it in
 * process.env, and a child it spawns afterwards does not inherit it.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';

const SECRETS = new URL('../../dist/src/store/secrets.js', import.meta.url).href;

it('is gone from process.env after takeMasterKey, and a spawned child does not inherit it', () => {
  const key = randomBytes(32).toString('hex');
  const script = `
    const { spawnSync } = await import('node:child_process');
    const { takeMasterKey } = await import(${JSON.stringify(SECRETS)});
    const taken = takeMasterKey({ demo: false }).toString('hex');
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.env.AIRCHARGE_MASTER_KEY))'], { encoding: 'utf8' });
    process.stdout.write(JSON.stringify({ taken, own: process.env.AIRCHARGE_MASTER_KEY ?? null, child: child.stdout }));
  `;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, AIRCHARGE_MASTER_KEY: key }, encoding: 'utf8', timeout: 20_000 });
  expect(run.stderr).toBe('');
  expect(JSON.parse(run.stdout)).toEqual({ taken: key, own: null, child: 'undefined' });
});

it('is gone even when it is refused', () => {
  const script = `
    const { takeMasterKey } = await import(${JSON.stringify(SECRETS)});
    try { takeMasterKey({ demo: false }); } catch (error) { process.stdout.write(JSON.stringify({ error: error.code, own: process.env.AIRCHARGE_MASTER_KEY ?? null })); }
  `;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, AIRCHARGE_MASTER_KEY: '00'.repeat(32) }, encoding: 'utf8', timeout: 20_000 });
  expect(JSON.parse(run.stdout)).toEqual({ error: 'ERR_MASTER_KEY', own: null });
});

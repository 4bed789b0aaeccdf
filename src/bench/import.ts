/**
 * bench:import — the two bulk imports an operator runs, each into a redis-server of its own (AOF,
 * fsync every second):
 * - the billing system's bill extract into the embedded biller: 100,000 bills (40,000 accounts of
 *   one to four bills), then the same file again (every bill unchanged, the daily re-import). The
 *   time includes reading and checking the CSV. Target: 100,000 bills in under 10 s.
 * - merchants and terminals, `aircharge terminal import` run as the operator runs it (a process,
 *   keys to a new 0600 file): 20,000 rows (10,000 merchants of two terminals). Target: under 30 s.
 * Ends with one JSON line.
 *
 *   npm run bench:import          BENCH_BILLS=100000, BENCH_TERMINALS=20000 by default
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAdmin } from '../admin/index.js';
import { formatYuan } from '../admin/money.js';
import { startRedisServer } from '../ops/redis-server.js';
import { parseScriptArgs } from '../cli/script-args.js';

parseScriptArgs('bench:import', `
usage: npm run bench:import            (BENCH_BILLS=100000: bills in the extract;
                                        BENCH_TERMINALS=20000: rows of the terminals file)
A bill extract imported into the embedded biller on its own redis-server, then the same file
again (target: 100,000 bills in under 10 s); then \`aircharge terminal import\` of merchants and
terminals as a process (target: 20,000 rows in under 30 s). The last line of output is one JSON
object.
`, {});
const BILLS = Number(process.env.BENCH_BILLS ?? 100_000);
const TARGET_MS = 10_000;
const TERMINAL_ROWS = Number(process.env.BENCH_TERMINALS ?? 20_000);
const TERMINALS_TARGET_MS = 30_000;
const ADMIN_CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));

/** A deterministic extract: account i has 1 + (i mod 4) bills, monthly from 202601. */
export function benchExtract(bills: number): { csv: string; accounts: number } {
  const lines = ['account,name,bill_id,period,amount,issue_date,status'];
  let account = 0;
  while (lines.length - 1 < bills) {
    const number = String(3_000_000_000 + account);
    for (let b = 0; b < 1 + (account % 4) && lines.length - 1 < bills; b++) {
      const month = String(b + 1).padStart(2, '0');
      const fen = 8_000 + ((account * 7 + b * 13) % 32_000);
      lines.push(`${number},Holder ${account},E${number}${month},2026${month},${formatYuan(fen)},2026-${month}-05,open`);
    }
    account += 1;
  }
  return { csv: `${lines.join('\n')}\n`, accounts: account };
}

/** Merchants of two terminals each: `rows` rows. */
function benchTerminals(rows: number): string {
  const lines = ['merchant_id,merchant_name,terminal_id'];
  for (let row = 0; row < rows; row++) {
    const merchant = Math.floor(row / 2);
    lines.push(`B${String(merchant).padStart(6, '0')},"Shop ${merchant}, Village B",BT${String(row).padStart(6, '0')}`);
  }
  return `${lines.join('\n')}\n`;
}

/** `aircharge terminal import` as a process against a redis-server of its own: its wall time and what it printed. */
async function terminalImport(rows: number): Promise<{ ms: number; output: string }> {
  const server = await startRedisServer();
  const dir = mkdtempSync(join(tmpdir(), 'aircharge-bench-terminals-'));
  try {
    const file = join(dir, 'terminals.csv');
    writeFileSync(file, benchTerminals(rows));
    const started = process.hrtime.bigint();
    const output = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [ADMIN_CLI, 'terminal', 'import', file, '--keys-out', join(dir, 'keys.csv'), '--redis', server.url, '--demo', '--operator', 'bench', '--json'],
        { timeout: 300_000 }, (error, stdout, stderr) => (error ? reject(new Error(`terminal import failed: ${stderr || error.message}`)) : resolve(stdout))));
    return { ms: Number(process.hrtime.bigint() - started) / 1e6, output };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await server.stop();
  }
}

async function main(): Promise<void> {
  const { csv, accounts } = benchExtract(BILLS);
  const server = await startRedisServer();
  const redis = server.client();
  try {
    const admin = createAdmin({ redis, masterKey: randomBytes(32) });
    // CPU seconds of this process and of redis-server beside the wall time: on a shared machine the
    // wall time says little, the CPU what a quiet machine would need.
    const redisCpu = async () => {
      const info = await redis.info('cpu');
      return ['used_cpu_user', 'used_cpu_sys'].reduce((sum, name) => sum + Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0), 0);
    };
    const measure = async (run: () => Promise<unknown>) => {
      const [wall, node, server] = [process.hrtime.bigint(), process.cpuUsage(), await redisCpu()];
      const result = await run();
      const spent = process.cpuUsage(node);
      return {
        result,
        ms: Number(process.hrtime.bigint() - wall) / 1e6,
        nodeCpuMs: Math.round((spent.user + spent.system) / 1000),
        redisCpuMs: Math.round(((await redisCpu()) - server) * 1000),
      };
    };
    const firstRun = await measure(() => admin.importAccounts(csv));
    const againRun = await measure(() => admin.importAccounts(csv));
    const imported = firstRun.result as Awaited<ReturnType<typeof admin.importAccounts>>;
    const reimported = againRun.result as Awaited<ReturnType<typeof admin.importAccounts>>;
    const [firstMs, againMs] = [firstRun.ms, againRun.ms];
    if (imported.billsAdded !== BILLS || reimported.billsUnchanged !== BILLS) {
      throw new Error(`expected ${BILLS} bills added then unchanged, got ${JSON.stringify({ imported, reimported })}`);
    }
    console.log(`imported ${BILLS} bills of ${accounts} accounts in ${(firstMs / 1000).toFixed(2)} s; the same file again in ${(againMs / 1000).toFixed(2)} s`);
    const terminals = await terminalImport(TERMINAL_ROWS);
    const provisioned = JSON.parse(terminals.output) as { rows: number; terminals: { created: number } };
    if (provisioned.rows !== TERMINAL_ROWS || provisioned.terminals.created !== TERMINAL_ROWS) {
      throw new Error(`expected ${TERMINAL_ROWS} terminals created, got ${terminals.output}`);
    }
    console.log(`terminal import: ${TERMINAL_ROWS} rows (${TERMINAL_ROWS / 2} merchants) in ${(terminals.ms / 1000).toFixed(2)} s, the CLI as a process`);
    console.log(
      JSON.stringify({
        bench: 'import',
        bills: BILLS,
        accounts,
        importMs: Math.round(firstMs),
        billsPerSec: Math.round(BILLS / (firstMs / 1000)),
        reimportMs: Math.round(againMs),
        cpuMs: { import: { node: firstRun.nodeCpuMs, redis: firstRun.redisCpuMs }, reimport: { node: againRun.nodeCpuMs, redis: againRun.redisCpuMs } },
        targetMs: TARGET_MS,
        terminals: { rows: TERMINAL_ROWS, importMs: Math.round(terminals.ms), targetMs: TERMINALS_TARGET_MS },
        met: firstMs < TARGET_MS && againMs < TARGET_MS && terminals.ms < TERMINALS_TARGET_MS,
      }),
    );
  } finally {
    redis.disconnect();
    await server.stop();
  }
}

await main();

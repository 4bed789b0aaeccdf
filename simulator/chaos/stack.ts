/**
 * What a fault scenario runs against, on one machine: a real redis-server (AOF, fsync every
 * second, in a temp directory) and one or more `aircharge serve --demo` processes, each behind a
 * relay the scenario controls:
 *
 *   terminals → link emulator → front relay (the load balancer) → gateway A, B, ...
 *   gateway A → relay A → redis-server          operator / `aircharge verify` → own relay → redis-server
 *
 * The relays give every process a fixed address while what is behind it is killed and restarted
 * on new ports, and they are where an instance is cut off from Redis.
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GATEWAY_BIN, startGateway, startRedisServer, type GatewayService, type RedisServer } from '../processes.js';
import { Relay, type CutMode } from './relay.js';

/** In every Redis command on a transaction record: its key (src/store/keys.ts, `transaction`). */
const TRANSACTION_KEY_MARK = ':txn:';

/** The operator's and the CLI's own way to Redis; never cut. */
const OPERATOR = 'operator';

export interface VerifyOutcome {
  ok: boolean;
  exitCode: number;
  discrepancies: string[];
}

export class ChaosStack {
  /** Where the terminals connect: the balancer in front of the gateways. */
  readonly front: Relay;
  private redis: RedisServer;
  private redisPaused = false;
  private readonly redisRelays = new Map<string, Relay>();
  private readonly gateways = new Map<string, GatewayService>();
  private starts = 0;
  /** How long the first gateway start took, ms: what a restart costs on this machine now. */
  firstStartMs = 0;
  lastStartMs = 0;
  failedStarts = 0;

  private constructor(
    readonly work: string,
    private readonly dataDir: string,
    redis: RedisServer,
    front: Relay,
    private readonly gatewayArgs: string[],
  ) {
    this.redis = redis;
    this.front = front;
  }

  /** Redis and one gateway per instance name, all up. */
  static async start(options: { instances: string[]; gatewayArgs?: string[] }): Promise<ChaosStack> {
    const work = mkdtempSync(join(tmpdir(), 'aircharge-chaos-'));
    const dataDir = join(work, 'redis');
    const stack = new ChaosStack(work, dataDir, await startRedisServer({ dir: dataDir }), await Relay.open(), options.gatewayArgs ?? []);
    try {
      for (const name of [OPERATOR, ...options.instances]) {
        const relay = await Relay.open();
        relay.setBackend('redis', { host: '127.0.0.1', port: stack.redis.port });
        stack.redisRelays.set(name, relay);
      }
      for (const name of options.instances) await stack.startInstance(name);
    } catch (error) {
      // The logs say why a process would not start.
      await stack.stop({ keepWork: true });
      throw error;
    }
    return stack;
  }

  /** The Redis URL for the operator API and the admin CLI. */
  get operatorRedisUrl(): string {
    return `redis://127.0.0.1:${this.redisRelay(OPERATOR).port}`;
  }

  get terminalsConnectTo(): { host: string; port: number } {
    return { host: this.front.host, port: this.front.port };
  }

  instanceUp(name: string): boolean {
    const gateway = this.gateways.get(name);
    return gateway !== undefined && gateway.process.exitCode === null && gateway.process.signalCode === null;
  }

  /**
   * Starts (or restarts) an instance: a new process on a new port, put behind the front relay.
   * A start that fails (its port taken between choosing and binding it) is tried again, as a
   * supervisor would; `failedStarts` counts those, and their logs stay in the work directory.
   */
  async startInstance(name: string): Promise<void> {
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      const logFile = join(this.work, `gateway-${name}-${++this.starts}.log`);
      try {
        const gateway = await startGateway({
          redisUrl: `redis://127.0.0.1:${this.redisRelay(name).port}`,
          logFile,
          args: ['--instance-id', `${name}-${this.starts}`, ...this.gatewayArgs],
        });
        this.gateways.set(name, gateway);
        this.front.setBackend(name, { host: '127.0.0.1', port: gateway.port });
        break;
      } catch (error) {
        this.failedStarts += 1;
        if (attempt === 3) throw new Error(`${(error as Error).message}: ${lastLine(logFile)}`);
      }
    }
    this.lastStartMs = Date.now() - started;
    if (this.firstStartMs === 0) this.firstStartMs = this.lastStartMs;
  }

  /** SIGKILL: no drain, no goodbye; whatever was in flight is where the crash left it. */
  async killInstance(name: string): Promise<void> {
    const gateway = this.gateways.get(name);
    if (!gateway || !this.instanceUp(name)) return;
    const exited = once(gateway.process, 'exit');
    gateway.process.kill('SIGKILL');
    await exited;
  }

  /** Stops redis-server with the signal and starts it again on its AOF; the relays follow it. */
  async restartRedis(signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    await this.redis.restart({ signal });
    for (const relay of this.redisRelays.values()) relay.setBackend('redis', { host: '127.0.0.1', port: this.redis.port });
  }

  /** SIGSTOP: connections stay open and nothing answers, as with a hung or partitioned Redis. */
  pauseRedis(): void {
    this.redis.process.kill('SIGSTOP');
    this.redisPaused = true;
  }

  resumeRedis(): void {
    this.redis.process.kill('SIGCONT');
    this.redisPaused = false;
  }

  /** Cuts one instance off from Redis; the others keep their way to it. */
  cutInstanceFromRedis(name: string, mode: CutMode): void {
    this.redisRelay(name).cut('redis', mode);
  }

  reconnectInstanceToRedis(name: string): void {
    this.redisRelay(name).restore('redis');
  }

  /**
   * Resolves true right after the instance's next Redis command on a transaction record (a
   * payment or correction being reserved or completed) has been passed to Redis, before its reply
   * is: the moment to kill or cut it for a transaction caught half-way. False after the timeout.
   */
  transactionStepSent(name: string, timeoutMs: number): Promise<boolean> {
    return this.redisRelay(name).nextRequestHolding('redis', TRANSACTION_KEY_MARK, timeoutMs);
  }

  /** `aircharge verify --json` as a process, as an operator runs it. */
  verify(): Promise<VerifyOutcome> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        [GATEWAY_BIN, 'verify', '--json', '--demo', '--redis', this.operatorRedisUrl],
        { timeout: 60_000 },
        (error, stdout, stderr) => {
          const exitCode = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
          try {
            const result = JSON.parse(stdout) as { ok: boolean; discrepancies: string[] };
            resolve({ ok: result.ok && exitCode === 0, exitCode, discrepancies: result.discrepancies });
          } catch {
            resolve({ ok: false, exitCode, discrepancies: [`aircharge verify printed no JSON: ${stderr.trim() || stdout.trim()}`] });
          }
        },
      );
    });
  }

  /** Request log lines of every gateway process so far with this result (e.g. SYSTEM_BUSY). */
  answersWithResult(result: string): number {
    return this.gatewayLogLines().filter((line) => line.msg === 'request' && line.result === result).length;
  }

  /** Transactions the gateways' recovery completed or rolled back: what crashes left pending. */
  recoveredTransactions(): number {
    return this.gatewayLogLines()
      .filter((line) => line.msg === 'recovered pending transactions')
      .reduce((sum, line) => sum + Number(line.completed ?? 0) + Number(line.rolledBack ?? 0), 0);
  }

  /** The sum of a numeric field over the gateways' log lines with this message (e.g. postings forwarded from the biller queue). */
  loggedSum(msg: string, field: string): number {
    return this.gatewayLogLines()
      .filter((line) => line.msg === msg)
      .reduce((sum, line) => sum + Number(line[field] ?? 0), 0);
  }

  private gatewayLogLines(): Array<Record<string, unknown>> {
    const lines: Array<Record<string, unknown>> = [];
    for (const file of readdirSync(this.work).filter((f) => f.startsWith('gateway-'))) {
      for (const text of readFileSync(join(this.work, file), 'utf8').split('\n')) {
        if (!text.startsWith('{')) continue;
        try {
          lines.push(JSON.parse(text) as Record<string, unknown>);
        } catch {
          // A line cut short by SIGKILL.
        }
      }
    }
    return lines;
  }

  async stop(options: { keepWork?: boolean } = {}): Promise<void> {
    await Promise.all([...this.gateways.values()].map((gateway) => gateway.stop(5000)));
    await this.front.close();
    for (const relay of this.redisRelays.values()) await relay.close();
    if (this.redisPaused) this.resumeRedis();
    await this.redis.stop();
    if (!options.keepWork) rmSync(this.work, { recursive: true, force: true });
  }

  private redisRelay(name: string): Relay {
    const relay = this.redisRelays.get(name);
    if (!relay) throw new Error(`no instance ${name}`);
    return relay;
  }
}

function lastLine(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').at(-1) ?? '';
  } catch {
    return '';
  }
}

/**
 * A small payment network for the core's tests: a real redis-server, merchants, terminals and
 * accounts set up through the operator API (src/admin), and the core over the same Redis.
 * Requests are made as the gateway makes them: a signed-in session, then RequestContexts.
 */
import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { MessageType, ResultCode } from '../../protocol/constants.js';
import { HEALTH_UNKNOWN, encodePayload, requestFingerprint } from '../../protocol/index.js';
import type { MessageMap } from '../../protocol/messages.js';
import { createAdmin, type Admin } from '../../src/admin/index.js';
import type { Biller } from '../../src/biller/index.js';
import { keys } from '../../src/store/keys.js';
import { createCore, type OpenSessionResult, type RedisSessionStore, type RedisTransactionCore, type RequestContext } from '../../src/core/index.js';
import { startRedisCluster } from '../helpers/cluster.js';
import { startRedis, type RedisProcess } from '../helpers/redis.js';

export const MASTER_KEY = randomBytes(32);

export interface Network {
  redisProcess: RedisProcess;
  redis: Redis;
  admin: Admin;
  sessions: RedisSessionStore;
  core: RedisTransactionCore;
  stop(): Promise<void>;
}

export async function startNetwork(
  options: { recoveryAfterMs?: number; biller?: Biller; billerDown?: 'decline' | 'accept'; storeTimeoutMs?: number } = {},
): Promise<Network> {
  const redisProcess = await startRedis();
  const redis = redisProcess.client();
  const admin = createAdmin({ redis, masterKey: MASTER_KEY, operator: 'test' });
  const { sessions, core } = await createCore({
    redis,
    masterKey: MASTER_KEY,
    recoveryAfterMs: options.recoveryAfterMs ?? 10_000,
    ...(options.biller ? { biller: options.biller } : {}),
    ...(options.billerDown ? { billerDown: options.billerDown } : {}),
    ...(options.storeTimeoutMs ? { storeTimeoutMs: options.storeTimeoutMs } : {}),
  }).catch(async (error: unknown) => {
    // The caller never gets the network to stop: stop its Redis here.
    redis.disconnect();
    await redisProcess.stop();
    throw error;
  });
  const network: Network = {
    redisProcess,
    redis,
    admin,
    sessions,
    core,
    async stop() {
      redis.disconnect();
      // The current process: a test may have replaced it by a restart.
      await network.redisProcess.stop();
    },
  };
  return network;
}

/** The same network on a 3-master Redis Cluster: every script must find its keys in one slot. */
export async function startClusterNetwork(options: { recoveryAfterMs?: number } = {}): Promise<ClusterNetwork> {
  const cluster = await startRedisCluster();
  const redis = cluster.client();
  const admin = createAdmin({ redis, masterKey: MASTER_KEY, operator: 'test' });
  const { sessions, core } = await createCore({ redis, masterKey: MASTER_KEY, recoveryAfterMs: options.recoveryAfterMs ?? 10_000 }).catch(async (error: unknown) => {
    redis.disconnect();
    await cluster.stop();
    throw error;
  });
  return {
    redis,
    admin,
    sessions,
    core,
    async stop() {
      redis.disconnect();
      await cluster.stop();
    },
  };
}

export interface ClusterNetwork extends Omit<Network, 'redis' | 'redisProcess'> {
  redis: Cluster;
}

/**
 * One account for the bill extract: its bills as [YYYYMM, fen] periods (bill id `B<period>`, issued
 * on the 5th), or, without periods, its arrears as one bill of period 202609 (none when 0).
 */
export interface AccountSeed {
  account: string;
  name: string;
  arrearsFen: number;
  status?: 'open' | 'closed';
  periods?: Array<[number, number]>;
}

const yuan = (fen: number) => `${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, '0')}`;

export function billExtract(accounts: AccountSeed[]): string {
  const rows = accounts.flatMap((a) => {
    const periods = a.periods ?? (a.arrearsFen > 0 ? [[202609, a.arrearsFen] as [number, number]] : []);
    const head = [a.account, a.name];
    const status = a.status ?? 'open';
    if (periods.length === 0) return [[...head, '', '', '', '', '', status].join(',')];
    return periods.map(([period, fen]) =>
      [...head, `B${period}`, period, yuan(fen), `${String(period).slice(0, 4)}-${String(period).slice(4)}-05`, 'open', status].join(','),
    );
  });
  return ['account,name,bill_id,period,amount,issue_date,status,account_status', ...rows].join('\n') + '\n';
}

export async function seedAccounts(admin: Admin, accounts: AccountSeed[]): Promise<void> {
  await admin.importAccounts(billExtract(accounts));
}

/** A merchant with a float and its terminals, all active. */
export async function seedMerchant(admin: Admin, id: string, floatFen: number, terminalIds: string[]): Promise<void> {
  await admin.addMerchant(id, `Shop ${id}`);
  if (floatFen > 0) await admin.topUp(id, floatFen);
  for (const terminalId of terminalIds) await admin.addTerminal(terminalId, id);
}

let connections = 0;

/**
 * A terminal as the gateway sees it on one connection: it signs in, then each request gets the next
 * sequence number (or a chosen one) and the fingerprint of its type and payload.
 */
export class TerminalSession {
  seq = 0;
  readonly connectionId = `conn-${++connections}`;

  constructor(
    readonly network: Pick<Network, 'sessions' | 'core'>,
    readonly terminalId: string,
    readonly merchantId: string,
  ) {}

  /**
   * Signs in with the given number; without one, with the next number, jumping past the gateway's
   * high-water mark after a REPLAY as firmware that lost its counter does.
   */
  async signIn(seq?: number, now = Date.now()): Promise<OpenSessionResult> {
    const opened = await this.open(seq ?? this.seq + 1, now);
    if (seq === undefined && opened.result === ResultCode.REPLAY) return this.open(opened.lastSeq + 1, now);
    return opened;
  }

  private async open(seq: number, now: number): Promise<OpenSessionResult> {
    const opened = await this.network.sessions.openSession({
      terminalId: this.terminalId,
      merchantId: this.merchantId,
      seq,
      connectionId: this.connectionId,
      instanceId: 'test',
      peer: '127.0.0.1:1',
      now,
      ttlSec: 600,
      firmware: 'TEST-1',
    });
    if (opened.lastSeq > this.seq) this.seq = opened.lastSeq;
    return opened;
  }

  /** The context of a request with the given type and payload value (a new seq unless given). */
  ctx<T extends keyof MessageMap>(type: T, value: MessageMap[T], options: { seq?: number; now?: number } = {}): RequestContext {
    const seq = options.seq ?? ++this.seq;
    if (seq > this.seq) this.seq = seq;
    return {
      terminalId: this.terminalId,
      merchantId: this.merchantId,
      connectionId: this.connectionId,
      seq,
      fingerprint: requestFingerprint(type, encodePayload(type, value)),
      now: options.now ?? Date.now(),
    };
  }

  pay(account: string, amountFen: number, options: { seq?: number; now?: number } = {}) {
    return this.network.core.pay(this.ctx(MessageType.PAY, { account, amountFen }, options), { account, amountFen });
  }

  correct(receipt: string, account: string, amountFen: number, options: { seq?: number; now?: number } = {}) {
    const req = { receipt, account, amountFen };
    return this.network.core.correct(this.ctx(MessageType.CORRECT, req, options), req);
  }

  inquiry(account: string, options: { seq?: number } = {}) {
    return this.network.core.inquiry(this.ctx(MessageType.INQUIRY, { account }, options), { account });
  }

  heartbeat(options: { seq?: number } = {}) {
    return this.network.core.heartbeat(this.ctx(MessageType.HEARTBEAT, HEALTH_UNKNOWN, options));
  }

  status(querySeq: number, options: { seq?: number } = {}) {
    return this.network.core.status(this.ctx(MessageType.STATUS, { querySeq }, options), { querySeq });
  }

  settle(req: MessageMap[typeof MessageType.SETTLE], options: { seq?: number } = {}) {
    return this.network.core.settle(this.ctx(MessageType.SETTLE, req, options), req);
  }

  signOut(options: { seq?: number } = {}) {
    return this.network.core.signOut(this.ctx(MessageType.SIGN_OUT, {}, options));
  }

  /** The same terminal on another connection (as after a reconnect, maybe to another instance). */
  reconnect(): TerminalSession {
    const other = new TerminalSession(this.network, this.terminalId, this.merchantId);
    other.seq = this.seq;
    return other;
  }
}

/**
 * The merchant's books from Redis alone: the journal's sums, the float, and what pending payments
 * hold. The invariant (src/store/keys.ts): float + pending payments = top-ups − payments + corrections.
 */
export async function books(network: Pick<Network, 'redis'> | ClusterNetwork, merchantId: string) {
  const { redis } = network;
  const sums = { topups: 0, payments: 0, paymentCount: 0, corrections: 0, correctionCount: 0 };
  for (const [, fields] of await redis.xrange(keys.journal(merchantId), '-', '+')) {
    const entry = Object.fromEntries(fields.flatMap((v, i, all) => (i % 2 === 0 ? [[v, all[i + 1]]] : [])));
    const amount = Number(entry.amountFen);
    if (entry.kind === 'topup') sums.topups += amount;
    if (entry.kind === 'pay') (sums.payments += amount), (sums.paymentCount += 1);
    if (entry.kind === 'correct') (sums.corrections += amount), (sums.correctionCount += 1);
  }
  let pendingPayments = 0;
  for (const receipt of await redis.zrange(keys.pending(merchantId), 0, -1)) {
    const [kind, amount] = await redis.hmget(keys.transaction(merchantId, receipt), 'kind', 'amountFen');
    if (kind === 'pay') pendingPayments += Number(amount);
  }
  const floatFen = Number(await redis.hget(keys.merchant(merchantId), 'floatFen'));
  const balanced = floatFen + pendingPayments === sums.topups - sums.payments + sums.corrections;
  return { ...sums, floatFen, pendingPayments, balanced };
}

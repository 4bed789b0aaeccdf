/** Terminal registry lookups and sessions in Redis (issue 3 item 3: the last sign-in wins). */
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import { MerchantKind, type ResultCode } from '../../protocol/constants.js';
import { keys } from '../store/keys.js';
import { terminalKeyAad, unsealVersioned, type MasterKeys } from '../store/secrets.js';
import { CLOSE_SESSION, HEARTBEAT_SEEN, OPEN_SESSION } from '../store/lua/session.js';
import { formatHealth } from '../store/health.js';
import { storeCalls, type StoreCall } from './store-call.js';
import type { HeartbeatSeen, OpenSessionInput, OpenSessionResult, SessionStore, TerminalRecord } from './types.js';

export class RedisSessionStore implements SessionStore {
  private readonly storeCall: StoreCall;

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly masterKeys: MasterKeys,
    private readonly logger: Logger | undefined,
    /** How long a Redis call may take before it counts as the store being unavailable. */
    storeTimeoutMs: number,
  ) {
    this.storeCall = storeCalls(storeTimeoutMs);
  }

  async lookupTerminal(terminalId: string): Promise<TerminalRecord | null> {
    const merchantId = await this.storeCall(this.redis.get(keys.terminalMerchant(terminalId)));
    if (merchantId === null) return null;
    const [[merchant, status, keyEnc, keyVersion], [merchantStatus, kind, name]] = await this.storeCall(
      Promise.all([
        this.redis.hmget(keys.terminal(merchantId, terminalId), 'merchant', 'status', 'keyEnc', 'keyVersion'),
        this.redis.hmget(keys.merchant(merchantId), 'status', 'kind', 'name'),
      ]),
    );
    if (merchant !== merchantId || !keyEnc) return null;
    let key: Buffer;
    try {
      key = unsealVersioned(this.masterKeys, keyEnc, terminalKeyAad(merchantId, terminalId, Number(keyVersion)));
    } catch {
      // Sealed under another master key (or a master key version this process does not hold), for
      // another terminal or key version (a copied or restored blob), or altered: the terminal
      // cannot sign in. Never log the key.
      this.logger?.error({ terminal: terminalId, keyVersion: Number(keyVersion) }, 'terminal key does not unseal under this master key for this terminal and key version');
      return null;
    }
    return {
      terminalId,
      merchantId,
      key,
      terminalActive: status === 'active',
      merchantActive: merchantStatus === 'active',
      merchantKind: kind === 'collector' ? MerchantKind.COLLECTOR : MerchantKind.OUTLET,
      merchantName: name ?? '',
    };
  }

  async countBadMac(terminalId: string, merchantId: string): Promise<void> {
    await this.storeCall(this.redis.hincrby(keys.terminal(merchantId, terminalId), 'badMacs', 1));
  }

  async openSession(input: OpenSessionInput): Promise<OpenSessionResult> {
    const { merchantId: m, terminalId: t } = input;
    const reply = (await this.storeCall(
      OPEN_SESSION.run(
        this.redis,
        [keys.terminal(m, t), keys.merchant(m), keys.session(m, t)],
        [
          input.seq,
          input.connectionId,
          input.instanceId,
          input.now,
          input.ttlSec,
          input.peer,
          input.firmware,
        ],
      ),
    )) as [ResultCode, number, string, string];
    const [result, lastSeq, instanceId, connectionId] = reply;
    const replaced = connectionId !== '' && connectionId !== input.connectionId ? { instanceId, connectionId } : null;
    return { result, lastSeq, replaced };
  }

  async heartbeatSeen(terminalId: string, merchantId: string, seen: HeartbeatSeen): Promise<void> {
    const health = seen.health === null ? ['0', ''] : [seen.health.at, formatHealth(seen.health.report)];
    await this.storeCall(HEARTBEAT_SEEN.run(this.redis, [keys.terminal(merchantId, terminalId)], [seen.mark, ...health]));
  }

  async closeSession(terminalId: string, merchantId: string, connectionId: string): Promise<boolean> {
    const deleted = await this.storeCall(
      CLOSE_SESSION.run(this.redis, [keys.session(merchantId, terminalId), keys.terminal(merchantId, terminalId)], [connectionId]),
    );
    return deleted === 1;
  }
}

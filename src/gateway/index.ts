/**
 * The gateway: takes terminal connections handed to it by whoever listens (the `serve` CLI, a
 * test, HAProxy in front), and runs each through its Connection. It holds no state but open
 * sockets: sessions, sequence guards and stored responses live in Redis, so any instance serves
 * any terminal.
 *
 * "Last sign-in wins" across instances: each gateway subscribes to its own kick channel; when a
 * sign-in replaces a session held elsewhere, the instance that holds it hears the connection id
 * and closes that connection. An operator disabling a terminal kicks its connection the same way
 * (src/store/kick.ts).
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import { NoticeReason } from '../../protocol/index.js';
import { businessDayOf } from '../core/business-day.js';
import type { BusinessDayOptions } from '../core/business-day.js';
import { SESSION_REFRESH_MS } from '../core/index.js';
import type { SessionStore, TransactionCore } from '../core/types.js';
import { instanceLogger } from '../log.js';
import type { CloseReason, Metrics } from '../metrics/index.js';
import { kickMessage, parseKickMessage, type KickReason } from '../store/kick.js';
import { keys } from '../store/keys.js';
import { Connection } from './connection.js';
import { parseProxyHeader } from './proxy-protocol.js';
import type { ConnectionHost } from './connection.js';
import { AddressSlots, ConnectionRateLimiter, DEFAULT_LIMITS, addressGroup } from './limits.js';
import type { GatewayLimits } from './limits.js';

export { DEFAULT_LIMITS } from './limits.js';
export type { GatewayLimits } from './limits.js';

export interface GatewayOptions {
  sessions: SessionStore;
  core: TransactionCore;
  /** Publishes kicks; a duplicate of it subscribes to this instance's kick channel. */
  redis: Redis | Cluster;
  /** Unique among the instances sharing the Redis: it names the kick channel and connection ids. */
  instanceId: string;
  logger: Logger;
  limits?: Partial<GatewayLimits>;
  /** The business-day rule the core uses (the sign-in response announces the day). */
  businessDay?: BusinessDayOptions;
  /** Connections, requests, bad frames and close reasons are counted here when given. */
  metrics?: Metrics;
  /**
   * Behind HAProxy with `send-proxy-v2`: every connection must start with a PROXY v2 header, whose
   * address the per-address limits and the logs use; a connection without one is closed.
   */
  proxyProtocol?: boolean;
}

/** How often stale per-address rate buckets are dropped. */
const RATE_SWEEP_MS = 60_000;

export class Gateway extends EventEmitter {
  readonly instanceId: string;
  readonly limits: GatewayLimits;
  private readonly options: GatewayOptions;
  private readonly log: Logger;
  private readonly host: ConnectionHost;
  private readonly connections = new Map<string, Connection>();
  private readonly rateLimiter: ConnectionRateLimiter;
  /** Connections held per address group (limits.maxConnectionsPerAddress). */
  private readonly addressSlots: AddressSlots;
  /** Connections not signed in yet, oldest first: the first to go when the instance is full. */
  private readonly unauthenticated = new Set<Connection>();
  private readonly sweepTimer: NodeJS.Timeout;
  private readonly subscriber: Redis | Cluster;
  private readonly subscribed: Promise<void>;
  private connectionCounter = 0;
  /** Sockets still waiting for their PROXY header. */
  private awaitingHeader = 0;
  /**
   * Connection ids are `<instance>-<run>-<counter>`: the run part differs at every start, so an
   * instance restarted under the same id never reuses an id a stale session or a late kick names.
   */
  private readonly runId = randomBytes(3).toString('hex');
  private draining = false;
  /** Set while draining: called when the last connection is gone. */
  private onEmpty: (() => void) | null = null;

  constructor(options: GatewayOptions) {
    super();
    this.options = options;
    this.instanceId = options.instanceId;
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.log = instanceLogger(options.logger, options.instanceId);
    this.rateLimiter = new ConnectionRateLimiter(this.limits.connectionRatePerSec, this.limits.connectionBurst);
    this.addressSlots = new AddressSlots(this.limits.maxConnectionsPerAddress);
    this.sweepTimer = setInterval(() => this.rateLimiter.sweep(Date.now()), RATE_SWEEP_MS);
    this.sweepTimer.unref();

    const limits = this.limits;
    this.host = {
      sessions: options.sessions,
      core: options.core,
      instanceId: options.instanceId,
      limits,
      // The session record outlives a quiet but healthy connection by one heartbeat. Its expiry
      // is pushed back only when a request reaches the guard, at most once per
      // SESSION_REFRESH_MS: heartbeats answered locally in between never do.
      sessionTtlSec: Math.ceil((limits.idleTimeoutMs + SESSION_REFRESH_MS) / 1000) + limits.heartbeatSec,
      businessDayOf: (ms) => businessDayOf(ms, options.businessDay),
      kick: (replaced) => this.kick(replaced),
      forget: (connection) => this.forget(connection),
      signedIn: (connection) => this.unauthenticated.delete(connection),
      metrics: options.metrics,
    };

    options.metrics?.countSignedIn(() => this.signedInCount);

    this.subscriber = options.redis.duplicate();
    this.subscriber.on('error', (err: Error) => this.log.warn({ err }, 'kick subscriber error'));
    this.subscriber.on('message', (_channel: string, message: string) => {
      const { reason, connectionId } = parseKickMessage(message);
      this.kickLocal(connectionId, reason);
    });
    this.subscribed = this.subscriber.subscribe(keys.kickChannel(options.instanceId)).then(() => undefined);
  }

  /** Resolves once this instance listens for kicks; serve before then and a kick could be missed. */
  ready(): Promise<void> {
    return this.subscribed;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Connections signed in as a terminal now (read at scrape time: a walk, not a counter to keep in step). */
  get signedInCount(): number {
    let count = 0;
    for (const connection of this.connections.values()) if (connection.terminalId !== null) count += 1;
    return count;
  }

  /** Takes one accepted socket. An arrow function, so `net.createServer(gateway.handle)` works. */
  readonly handle = (socket: Socket): void => {
    if (this.options.proxyProtocol === true) this.readProxyHeader(socket);
    else this.accept(socket, { address: socket.remoteAddress ?? 'unknown', port: socket.remotePort ?? 0 }, null);
  };

  /**
   * The PROXY v2 header first (proxy-protocol.ts): read as it arrives, within the sign-in timeout
   * and MAX_PROXY_BLOCK bytes; then the connection is accepted as coming from the address in it.
   * Sockets waiting for their header count against --max-connections.
   */
  private readProxyHeader(socket: Socket): void {
    if (this.draining || this.connections.size + this.awaitingHeader >= this.limits.maxConnections) {
      this.refuse(socket, this.draining ? 'drain' : 'over_limit');
      return;
    }
    this.awaitingHeader += 1;
    let buffered: Buffer = Buffer.alloc(0);
    const done = () => {
      this.awaitingHeader -= 1;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onGone);
      socket.off('close', onGone);
    };
    const fail = (why: string) => {
      done();
      this.log.warn({ address: socket.remoteAddress, why }, 'no valid PROXY header: connection closed');
      this.refuse(socket, 'proxy_header');
    };
    const onGone = () => {
      done();
      socket.destroy();
    };
    const onData = (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      let header;
      try {
        header = parseProxyHeader(buffered);
      } catch (err) {
        fail((err as Error).message);
        return;
      }
      if (header === null) return;
      done();
      const remote = header.source ?? { address: socket.remoteAddress ?? 'unknown', port: socket.remotePort ?? 0 };
      this.accept(socket, remote, buffered.subarray(header.length));
    };
    const timer = setTimeout(fail, this.limits.signInTimeoutMs, 'timeout');
    socket.on('data', onData);
    socket.on('error', onGone);
    socket.on('close', onGone);
  }

  /** Admits a connection from `remote` if the limits allow; `early`: bytes that followed a PROXY header. */
  private accept(socket: Socket, remote: { address: string; port: number }, early: Buffer | null): void {
    const address = remote.address;
    const group = addressGroup(address);
    if (this.draining) {
      this.refuse(socket, 'drain');
    } else if (!this.rateLimiter.take(group, Date.now())) {
      this.log.warn({ address }, 'connection rate limit: connection refused');
      this.refuse(socket, 'over_limit');
    } else if (this.connections.size >= this.limits.maxConnections && !this.evictUnauthenticated()) {
      this.log.warn({ address, max: this.limits.maxConnections }, 'connection limit: connection refused');
      this.refuse(socket, 'over_limit');
    } else if (!this.addressSlots.take(group)) {
      this.log.warn({ address, max: this.limits.maxConnectionsPerAddress }, 'per-address connection limit: connection refused');
      this.refuse(socket, 'over_limit');
    } else {
      this.connectionCounter += 1;
      const connection = new Connection(this.host, socket, `${this.instanceId}-${this.runId}-${this.connectionCounter}`, this.log,
        { address, port: remote.port, group });
      this.connections.set(connection.id, connection);
      this.unauthenticated.add(connection);
      this.options.metrics?.connectionOpened();
      this.emit('connection', connection.id);
      if (early !== null && early.length > 0) connection.onData(early);
    }
  }

  /** False once draining: the readiness endpoint reports it so a load balancer stops sending. */
  get accepting(): boolean {
    return !this.draining;
  }

  private refuse(socket: Socket, reason: CloseReason): void {
    socket.destroy();
    this.options.metrics?.connectionOpened();
    this.options.metrics?.connectionClosed(reason);
  }

  /**
   * Graceful shutdown: no new connection or request, the requests in flight finish and are
   * answered, then every terminal gets NOTICE SHUTTING_DOWN and its connection is closed. Past
   * `timeoutMs` whatever is left is destroyed; a request cut off that way is either applied and
   * stored (its retransmission gets the stored answer) or not applied at all.
   */
  async drain(timeoutMs: number): Promise<void> {
    this.draining = true;
    clearInterval(this.sweepTimer);
    const deadline = sleep(timeoutMs, undefined, { ref: false });
    const open = [...this.connections.values()];
    this.log.info({ connections: open.length }, 'draining');
    await Promise.race([Promise.all(open.map((connection) => connection.stopAccepting())), deadline]);
    const closed = new Promise<void>((resolve) => {
      this.onEmpty = resolve;
      if (this.connections.size === 0) resolve();
    });
    for (const connection of open) connection.close('drain', NoticeReason.SHUTTING_DOWN);
    await Promise.race([closed, deadline]);
    for (const connection of this.connections.values()) connection.destroy();
    await this.subscriber.quit().catch(() => this.subscriber.disconnect());
    this.log.info('drained');
  }

  private kick(replaced: { instanceId: string; connectionId: string }): void {
    if (replaced.instanceId === this.instanceId) {
      this.kickLocal(replaced.connectionId, 'replaced');
      return;
    }
    this.options.redis.publish(keys.kickChannel(replaced.instanceId), kickMessage('replaced', replaced.connectionId)).catch((err: unknown) =>
      this.log.warn({ err, instance: replaced.instanceId }, 'could not publish kick'));
  }

  private kickLocal(connectionId: string, reason: KickReason): void {
    this.connections.get(connectionId)?.kick(reason);
  }

  /**
   * Full: the oldest connection that has not signed in gives its slot to the new one, so peers
   * that connect and never sign in cannot keep a real terminal out. False when every connection
   * is signed in.
   */
  private evictUnauthenticated(): boolean {
    for (const connection of this.unauthenticated) {
      this.unauthenticated.delete(connection);
      connection.close('evicted');
      return true;
    }
    return false;
  }

  private forget(connection: Connection): void {
    this.connections.delete(connection.id);
    this.unauthenticated.delete(connection);
    this.addressSlots.release(connection.addressGroup);
    this.options.metrics?.connectionClosed(connection.closeReason ?? 'peer_closed');
    this.emit('disconnect', connection.id);
    if (this.connections.size === 0) this.onEmpty?.();
  }
}

/**
 * Whether this gateway can reach Redis, for the readiness check. A gateway cut off from Redis
 * answers every request SYSTEM_BUSY; reported not ready, it is taken out of the load balancer's
 * rotation and terminals sign in at an instance that can serve them.
 *
 * Connection events alone do not tell: a Redis that stopped answering (paused, partitioned)
 * keeps its TCP connection open. So Redis is pinged, one ping in flight at a time; it counts as
 * unreachable once no ping has come back for `unreadyAfterMs`. A ping stuck in the client's
 * offline queue simply holds the next one back, and its late answer marks Redis back.
 */
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';

export interface RedisHealthOptions {
  /** Redis is unreachable once no ping has answered for this long. */
  unreadyAfterMs: number;
  logger: Logger;
}

/** Pings at most once a second, and several times within `unreadyAfterMs` when it is short. */
const MAX_PROBE_INTERVAL_MS = 1000;

export class RedisHealth {
  private lastAnswerAt: number;
  private pinging = false;
  private reported = true;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly redis: Redis | Cluster, private readonly options: RedisHealthOptions) {
    this.lastAnswerAt = Date.now();
    const interval = Math.min(MAX_PROBE_INTERVAL_MS, Math.max(10, Math.floor(options.unreadyAfterMs / 4)));
    this.timer = setInterval(() => this.probe(), interval);
    this.timer.unref();
    this.probe();
  }

  /** True while some ping answered within the last `unreadyAfterMs`. */
  reachable(now = Date.now()): boolean {
    const reachable = now - this.lastAnswerAt <= this.options.unreadyAfterMs;
    if (reachable !== this.reported) {
      this.reported = reachable;
      if (reachable) this.options.logger.info('redis reachable again: ready');
      else this.options.logger.warn({ silentMs: now - this.lastAnswerAt }, 'redis unreachable: not ready');
    }
    return reachable;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private probe(): void {
    if (this.pinging) {
      this.reachable();
      return;
    }
    this.pinging = true;
    this.redis.ping().then(
      () => {
        this.lastAnswerAt = Date.now();
      },
      () => {},
    ).finally(() => {
      this.pinging = false;
      this.reachable();
    });
  }
}

/**
 * The limits one gateway instance enforces (DESIGN "Bad input"), and the per-address connection
 * rate limiter. Durations are milliseconds here; the CLI takes seconds.
 */
import { Defaults, MAX_FRAME_SIZE } from '../../protocol/index.js';

export interface GatewayLimits {
  /** Connections held at once by this instance; one more is closed at once. */
  maxConnections: number;
  /** Largest frame accepted (its length field is checked before anything is buffered). */
  maxFrameSize: number;
  /** A connection that has not signed in by then is closed. */
  signInTimeoutMs: number;
  /** Announced in the sign-in response: how often an idle terminal sends a heartbeat. */
  heartbeatSec: number;
  /** A signed-in connection with no frame for this long gets NOTICE IDLE_TIMEOUT and is closed. */
  idleTimeoutMs: number;
  /** Largest difference between a frame's timestamp and the server clock (CLOCK_SKEW beyond). */
  clockWindowSec: number;
  /** Bad frames one connection may send; the next gets NOTICE TOO_MANY_BAD_FRAMES and a close. */
  maxBadFrames: number;
  /** New connections per second one remote address may open (token bucket refill); 0: no limit. */
  connectionRatePerSec: number;
  /** Connections one address may open in a burst (token bucket size). */
  connectionBurst: number;
}

export const DEFAULT_LIMITS: GatewayLimits = {
  maxConnections: 10_000,
  maxFrameSize: MAX_FRAME_SIZE,
  signInTimeoutMs: Defaults.SIGN_IN_TIMEOUT_SEC * 1000,
  heartbeatSec: Defaults.HEARTBEAT_SEC,
  idleTimeoutMs: Defaults.IDLE_TIMEOUT_SEC * 1000,
  clockWindowSec: Defaults.CLOCK_WINDOW_SEC,
  maxBadFrames: Defaults.MAX_BAD_FRAMES,
  connectionRatePerSec: 10,
  connectionBurst: 20,
};

/**
 * Token bucket per remote address. A bucket that has refilled completely carries no information,
 * so it is dropped by `sweep()`; the map holds only addresses that connected recently.
 */
export class ConnectionRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
  ) {}

  /** Takes one token for `address`; false when the address is over its rate. */
  take(address: string, now: number): boolean {
    if (this.ratePerSec <= 0) return true;
    const bucket = this.buckets.get(address);
    if (bucket === undefined) {
      this.buckets.set(address, { tokens: this.burst - 1, at: now });
      return true;
    }
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.ratePerSec);
    bucket.at = now;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  sweep(now: number): void {
    for (const [address, bucket] of this.buckets) {
      if (bucket.tokens + ((now - bucket.at) / 1000) * this.ratePerSec >= this.burst) this.buckets.delete(address);
    }
  }

  get size(): number {
    return this.buckets.size;
  }
}

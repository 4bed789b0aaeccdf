/**
 * The limits one gateway instance enforces (DESIGN "Bad input"), and the per-address connection
 * rate limiter. Durations are milliseconds here; the CLI takes seconds.
 */
import { Defaults, MAX_FRAME_SIZE } from '../../protocol/index.js';

export interface GatewayLimits {
  /**
   * Connections held at once by this instance. When full, a new connection takes the slot of the
   * oldest one not signed in yet, if any; else it is closed at once.
   */
  maxConnections: number;
  /**
   * Connections held at once from one address (IPv6: one /64); one more is closed at once. 0: no
   * cap. Behind a carrier's NAT many terminals share an address, hence a generous default.
   */
  maxConnectionsPerAddress: number;
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
  /**
   * Requests per second one terminal's connection may send (token bucket refill; 0: no limit);
   * beyond it RATE_LIMITED, counted as a bad frame. Firmware keeps one request in flight over
   * GPRS, a few a second at most.
   */
  requestRatePerSec: number;
  /** Requests a terminal may send in a burst (token bucket size). */
  requestBurst: number;
}

export const DEFAULT_LIMITS: GatewayLimits = {
  maxConnections: 10_000,
  maxConnectionsPerAddress: 256,
  maxFrameSize: MAX_FRAME_SIZE,
  signInTimeoutMs: Defaults.SIGN_IN_TIMEOUT_SEC * 1000,
  heartbeatSec: Defaults.HEARTBEAT_SEC,
  idleTimeoutMs: Defaults.IDLE_TIMEOUT_SEC * 1000,
  clockWindowSec: Defaults.CLOCK_WINDOW_SEC,
  maxBadFrames: Defaults.MAX_BAD_FRAMES,
  connectionRatePerSec: 10,
  connectionBurst: 20,
  requestRatePerSec: 50,
  requestBurst: 100,
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

/**
 * The key per-address limits count under: an IPv4 address as is (an IPv4-mapped IPv6 address as
 * its IPv4 form), an IPv6 address by its /64, the block one subscriber is usually given, so a
 * peer cannot step around the cap by walking its own /64.
 */
export function addressGroup(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped !== null) return mapped[1]!;
  if (!address.includes(':')) return address;
  const [head = '', tail = ''] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = address.includes('::') ? [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((group) => group.replace(/^0+(?=.)/, '').toLowerCase()).join(':')}::/64`;
}

/** Connections held per address group; an entry goes when its count drops to 0. */
export class AddressSlots {
  private readonly held = new Map<string, number>();

  constructor(private readonly max: number) {}

  /** Takes a slot for `group`; false when the group holds its maximum already. */
  take(group: string): boolean {
    const count = this.held.get(group) ?? 0;
    if (this.max > 0 && count >= this.max) return false;
    this.held.set(group, count + 1);
    return true;
  }

  release(group: string): void {
    const count = (this.held.get(group) ?? 1) - 1;
    if (count <= 0) this.held.delete(group);
    else this.held.set(group, count);
  }

  get size(): number {
    return this.held.size;
  }
}

/**
 * Link profiles: what a GPRS connection does to the bytes of a terminal. Each direction has its
 * own latency, jitter, bandwidth and segmentation; faults (cuts and half-open links) are decided
 * per request frame.
 */

export interface DirectionProfile {
  /** One-way delay added to every segment. */
  latencyMs: number;
  /** Uniform extra delay in [0, jitterMs]; segments still arrive in order, as TCP delivers them. */
  jitterMs: number;
  /** Bandwidth cap, bytes per second; 0 means unlimited. */
  bytesPerSec: number;
  /** Segments are cut at random lengths in [1, maxSegment]; 0 forwards what arrives unsplit. */
  maxSegment: number;
  /** Probability that a segment is merged with the one before it (one write, one TCP segment). */
  coalesceProbability: number;
  /** Probability that a segment is lost and resent by TCP, arriving retransmitDelayMs later. */
  lossProbability: number;
  retransmitDelayMs: number;
}

export interface LinkProfile {
  name: string;
  /** Terminal → gateway. */
  up: DirectionProfile;
  /** Gateway → terminal. */
  down: DirectionProfile;
  /** Per request frame: probability that the connection is cut (half of them after the request arrived). */
  cutProbability: number;
  /** Per request frame: probability that the link goes silent both ways without a FIN. */
  halfOpenProbability: number;
  /** The GSM signal (AT+CSQ, 0..31) a terminal on such a link reports in its heartbeat. */
  signal: number;
}

const clean: DirectionProfile = {
  latencyMs: 0,
  jitterMs: 0,
  bytesPerSec: 0,
  maxSegment: 0,
  coalesceProbability: 0,
  lossProbability: 0,
  retransmitDelayMs: 0,
};

/** A GPRS bearer: ~500 ms round trip, jittery, 8 kbit/s, small segments. */
const gprsDirection: DirectionProfile = {
  latencyMs: 220,
  jitterMs: 60,
  bytesPerSec: 1000,
  maxSegment: 24,
  coalesceProbability: 0.3,
  lossProbability: 0.01,
  retransmitDelayMs: 600,
};

export const PROFILES: Readonly<Record<string, LinkProfile>> = {
  /** A LAN: no delay, no splitting; still through the proxy, so cuts can be injected. */
  good: { name: 'good', up: clean, down: clean, cutProbability: 0, halfOpenProbability: 0, signal: 25 },
  gprs: { name: 'gprs', up: gprsDirection, down: gprsDirection, cutProbability: 0, halfOpenProbability: 0, signal: 16 },
  /** GPRS at the edge of a cell: more loss, connections cut mid-exchange, links going silent. */
  bad: {
    name: 'bad',
    up: { ...gprsDirection, lossProbability: 0.05, maxSegment: 8 },
    down: { ...gprsDirection, lossProbability: 0.05, maxSegment: 8 },
    cutProbability: 0.05,
    halfOpenProbability: 0.02,
    // Weak (under 10, about -93 dBm): where GPRS loses and cuts like this.
    signal: 7,
  },
};

export function linkProfile(name: string): LinkProfile {
  const profile = PROFILES[name];
  if (!profile) throw new Error(`unknown link profile "${name}" (known: ${Object.keys(PROFILES).join(', ')})`);
  return profile;
}

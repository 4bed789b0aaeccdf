/**
 * One direction of an emulated link: bytes written in come out on the destination socket later,
 * cut into segments, delayed, paced to the bandwidth cap and sometimes merged, always in order.
 * Segment lengths are drawn along the byte stream, so the same seed and the same writes give the
 * same schedule.
 */
import type { Socket } from 'node:net';
import type { DirectionProfile } from './profiles.js';
import type { Random } from './prng.js';

/** A planned delivery: how many bytes, and how long after they were handed to the link. */
export interface ScheduledSegment {
  bytes: number;
  delayMs: number;
}

interface Pending {
  at: number;
  data: Buffer;
}

export class DirectionShaper {
  private readonly queue: Pending[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** When the bearer has finished sending what it was given (bandwidth pacing). */
  private bearerFreeAt = 0;
  /** Delivery time of the last segment: later segments never overtake it. */
  private lastAt = 0;
  private ending = false;
  private stopped = false;

  constructor(
    private readonly profile: DirectionProfile,
    private readonly random: Random,
    private readonly destination: Socket,
    private readonly onSchedule: (segment: ScheduledSegment) => void,
  ) {}

  send(data: Buffer): void {
    if (this.stopped || data.length === 0) return;
    const now = Date.now();
    for (const part of this.split(data)) {
      const merge = this.queue.length > 0 && this.random.chance(this.profile.coalesceProbability);
      const at = merge ? this.lastAt : this.deliveryTime(now, part.length);
      this.lastAt = at;
      const tail = this.queue[this.queue.length - 1];
      if (merge && tail) tail.data = Buffer.concat([tail.data, part]);
      else this.queue.push({ at, data: part });
      this.onSchedule({ bytes: part.length, delayMs: at - now });
    }
    this.arm();
  }

  /** Ends the destination once everything queued has been delivered (the sender's FIN). */
  end(): void {
    this.ending = true;
    if (this.queue.length === 0 && !this.stopped && !this.destination.destroyed) this.destination.end();
  }

  /** Drops everything queued and delivers nothing more (a cut or a silent link). */
  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private split(data: Buffer): Buffer[] {
    const { maxSegment } = this.profile;
    if (maxSegment <= 0) return [data];
    const parts: Buffer[] = [];
    for (let offset = 0; offset < data.length; ) {
      const length = Math.min(this.random.int(1, maxSegment), data.length - offset);
      parts.push(data.subarray(offset, offset + length));
      offset += length;
    }
    return parts;
  }

  private deliveryTime(now: number, length: number): number {
    const { bytesPerSec, latencyMs, jitterMs, lossProbability, retransmitDelayMs } = this.profile;
    let sent = now;
    if (bytesPerSec > 0) {
      sent = Math.max(now, this.bearerFreeAt) + (length * 1000) / bytesPerSec;
      this.bearerFreeAt = sent;
    }
    let at = sent + latencyMs + (jitterMs > 0 ? this.random.next() * jitterMs : 0);
    if (this.random.chance(lossProbability)) at += retransmitDelayMs;
    return Math.max(Math.round(at), this.lastAt);
  }

  private arm(): void {
    if (this.timer || this.stopped) return;
    const head = this.queue[0];
    if (!head) return;
    this.timer = setTimeout(() => this.deliver(), Math.max(0, head.at - Date.now()));
  }

  private deliver(): void {
    this.timer = null;
    const now = Date.now();
    const due: Buffer[] = [];
    while (this.queue[0] && this.queue[0].at <= now) due.push(this.queue.shift()!.data);
    if (due.length > 0 && !this.destination.destroyed) {
      // Segments that fall due together leave as one write, as a TCP stack would coalesce them.
      this.destination.write(due.length === 1 ? due[0]! : Buffer.concat(due));
    }
    if (this.queue.length > 0) this.arm();
    else if (this.ending && !this.destination.destroyed) this.destination.end();
  }
}

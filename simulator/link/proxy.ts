/**
 * The GPRS link emulator as a TCP proxy: a terminal connects to it, it connects to the gateway,
 * and every byte in between goes through a DirectionShaper. It understands just enough framing
 * (sync, length, type) to cut a connection at a chosen request: before the request reaches the
 * gateway, or after it did and before the response gets back; or to let the link fall silent
 * both ways with no FIN (half-open), as a dead GPRS bearer does.
 */
import { EventEmitter } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { MAX_FRAME_SIZE, MIN_FRAME_SIZE, Offset, SYNC_0, SYNC_1 } from '../../protocol/constants.js';
import { walkThroughHoles, type CoverageHoles } from './coverage.js';
import { deriveRandom } from './prng.js';
import type { LinkProfile } from './profiles.js';
import { DirectionShaper, type ScheduledSegment } from './shaper.js';

export type CutMoment = 'before-request' | 'after-request-before-response';
export type FaultMode = 'cut' | 'half-open';

/** A fault injected on purpose: on the nth matching request of the chosen connection. */
export interface FaultPlan {
  mode: FaultMode;
  at: CutMoment;
  /** Only requests of this message type count (any type when absent). */
  type?: number;
  /** 1-based among the matching requests of the connection; default 1. */
  nth?: number;
  /** 1-based connection number on this proxy; default: every connection. */
  connection?: number;
}

export interface LinkOptions {
  target: { host: string; port: number };
  profile: LinkProfile;
  seed: number;
  faults?: FaultPlan[];
  /** A moving terminal's coverage holes on top of the profile (simulator/link/coverage.ts). */
  holes?: CoverageHoles;
  host?: string;
}

export interface LinkEvent {
  /** 0 for a coverage hole: it is the whole link's, not one connection's. */
  connection: number;
  event: 'open' | 'cut' | 'half-open' | 'close' | 'hole';
  at?: CutMoment;
  /** The request type the fault was applied to. */
  type?: number;
}

export interface LinkSchedule {
  connection: number;
  direction: 'up' | 'down';
  segment: ScheduledSegment;
}

export class LinkProxy {
  private server: Server | null = null;
  private readonly connections = new Set<LinkConnection>();
  private opened = 0;
  private inHole = false;
  private walk: { stop(): Promise<void> } | null = null;
  /** What happened, in order: tests read these to check that cuts fell where they were asked. */
  readonly events: LinkEvent[] = [];
  readonly schedule: LinkSchedule[] = [];

  constructor(private readonly options: LinkOptions) {}

  async listen(port = 0): Promise<{ host: string; port: number }> {
    const host = this.options.host ?? '127.0.0.1';
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const address = server.address();
    if (!address || typeof address === 'string') throw new Error('link proxy has no address');
    if (this.options.holes) this.walk = walkThroughHoles(this, this.options.holes, deriveRandom(this.options.seed, 'link:holes'));
    return { host, port: address.port };
  }

  /** Into a coverage hole: every connection goes silent both ways, and no new one gets through. */
  enterHole(): void {
    this.inHole = true;
    this.record({ connection: 0, event: 'hole' });
    for (const connection of this.connections) connection.fallSilent();
  }

  /** Out of the hole: the modem re-attaches; what went silent in the hole is gone. */
  leaveHole(): void {
    this.inHole = false;
    for (const connection of this.connections) if (connection.isSilent) connection.destroy();
  }

  /** Stops listening and tears down every connection, silent ones included. */
  async close(): Promise<void> {
    await this.walk?.stop();
    this.walk = null;
    for (const connection of this.connections) connection.destroy();
    this.connections.clear();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  record(event: LinkEvent): void {
    this.events.push(event);
  }

  private accept(client: Socket): void {
    if (this.inHole) {
      // No carrier: the connection attempt fails at once.
      client.destroy();
      return;
    }
    this.opened += 1;
    const number = this.opened;
    const faults = (this.options.faults ?? []).filter((f) => f.connection === undefined || f.connection === number);
    const connection = new LinkConnection(this, number, client, this.options, faults);
    this.connections.add(connection);
    connection.once('closed', () => this.connections.delete(connection));
  }
}

class LinkConnection extends EventEmitter {
  private readonly upstream: Socket;
  private readonly up: DirectionShaper;
  private readonly down: DirectionShaper;
  private readonly faultRandom;
  /** Bytes not yet forwarded because they do not yet form a whole frame, per direction. */
  private readonly fromTerminalUnits = new FrameUnits();
  private readonly fromGatewayUnits = new FrameUnits();
  private readonly seenByType = new Map<number, number>();
  private seenTotal = 0;
  /** Set by an after-request fault: the next bytes from the gateway trigger it. */
  private armed: FaultMode | null = null;
  private silent = false;
  private done = false;

  constructor(
    private readonly proxy: LinkProxy,
    readonly number: number,
    private readonly client: Socket,
    options: LinkOptions,
    private readonly faults: FaultPlan[],
  ) {
    super();
    const { profile, seed } = options;
    this.faultRandom = deriveRandom(seed, `link:${number}:faults`);
    this.upstream = connect(options.target.port, options.target.host);
    const log = (direction: 'up' | 'down') => (segment: ScheduledSegment) =>
      proxy.schedule.push({ connection: number, direction, segment });
    this.up = new DirectionShaper(profile.up, deriveRandom(seed, `link:${number}:up`), this.upstream, log('up'));
    this.down = new DirectionShaper(profile.down, deriveRandom(seed, `link:${number}:down`), client, log('down'));
    client.setNoDelay(true);
    this.upstream.setNoDelay(true);
    proxy.record({ connection: number, event: 'open' });

    client.on('data', (chunk: Buffer) => this.fromTerminal(chunk, profile));
    this.upstream.on('data', (chunk: Buffer) => this.fromGateway(chunk));
    client.on('end', () => {
      if (!this.silent) this.up.end();
    });
    this.upstream.on('end', () => {
      if (!this.silent) this.down.end();
    });
    // A side that closed cleanly sent its FIN after its last byte: the other direction still
    // delivers what it holds (a gateway's NOTICE written just before it closes) and passes the
    // FIN on after it. A reset, or both sides gone, tears the link down. A real half-open link
    // never tells the other side; only a cut or close() tears it down.
    client.on('close', (hadError) => this.sideClosed(hadError));
    this.upstream.on('close', (hadError) => this.sideClosed(hadError));
    client.on('error', () => {});
    this.upstream.on('error', () => {});
  }

  destroy(): void {
    if (this.done) return;
    this.done = true;
    this.up.stop();
    this.down.stop();
    this.client.destroy();
    this.upstream.destroy();
    this.proxy.record({ connection: this.number, event: 'close' });
    this.emit('closed');
  }

  get isSilent(): boolean {
    return this.silent;
  }

  /** The bearer is gone (a coverage hole): nothing more moves either way, and no FIN is sent. */
  fallSilent(): void {
    this.trigger('half-open');
  }

  private sideClosed(hadError: boolean): void {
    if (this.silent) return;
    if (hadError || (this.client.destroyed && this.upstream.destroyed)) this.destroy();
  }

  private fromTerminal(chunk: Buffer, profile: LinkProfile): void {
    for (const unit of this.fromTerminalUnits.push(chunk)) {
      if (this.silent || this.done) return;
      const fault = unit.length >= MIN_FRAME_SIZE ? this.faultFor(unit[Offset.TYPE]!, profile) : null;
      if (!fault) {
        this.up.send(unit);
        continue;
      }
      this.proxy.record({ connection: this.number, event: fault.mode, at: fault.at, type: unit[Offset.TYPE]! });
      if (fault.at === 'after-request-before-response') {
        this.up.send(unit);
        this.armed = fault.mode;
      } else {
        this.trigger(fault.mode);
      }
    }
  }

  private fromGateway(chunk: Buffer): void {
    if (this.silent || this.done) return;
    if (this.armed) {
      this.trigger(this.armed);
      return;
    }
    for (const unit of this.fromGatewayUnits.push(chunk)) this.down.send(unit);
  }

  private trigger(mode: FaultMode): void {
    if (mode === 'cut') {
      this.destroy();
      return;
    }
    this.silent = true;
    this.up.stop();
    this.down.stop();
  }

  private faultFor(type: number, profile: LinkProfile): { mode: FaultMode; at: CutMoment } | null {
    this.seenTotal += 1;
    const seenOfType = (this.seenByType.get(type) ?? 0) + 1;
    this.seenByType.set(type, seenOfType);
    for (const plan of this.faults) {
      const count = plan.type === undefined ? this.seenTotal : plan.type === type ? seenOfType : -1;
      if (count === (plan.nth ?? 1)) return { mode: plan.mode, at: plan.at };
    }
    // Always two draws per frame, so a profile's probabilities do not shift the stream.
    const cut = this.faultRandom.next() < profile.cutProbability;
    const halfOpen = this.faultRandom.next() < profile.halfOpenProbability;
    const at: CutMoment = this.faultRandom.next() < 0.5 ? 'before-request' : 'after-request-before-response';
    if (cut) return { mode: 'cut', at };
    if (halfOpen) return { mode: 'half-open', at };
    return null;
  }
}

/**
 * Cuts a byte stream into the units the link forwards: whole frames, so that the schedule drawn
 * for a frame does not depend on how TCP happened to chunk it on the way in.
 */
class FrameUnits {
  private held: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    const bytes = this.held.length === 0 ? chunk : Buffer.concat([this.held, chunk]);
    const units: Buffer[] = [];
    let offset = 0;
    let noiseFrom = -1;
    while (offset < bytes.length) {
      const size = unitSize(bytes, offset);
      if (size === 0) break;
      if (size === 1) {
        if (noiseFrom < 0) noiseFrom = offset;
      } else {
        if (noiseFrom >= 0) units.push(bytes.subarray(noiseFrom, offset));
        noiseFrom = -1;
        units.push(bytes.subarray(offset, offset + size));
      }
      offset += size;
    }
    if (noiseFrom >= 0) units.push(bytes.subarray(noiseFrom, offset));
    this.held = bytes.subarray(offset);
    return units;
  }
}

/**
 * Length of the next unit to forward at offset: a whole frame when its sync and length are
 * readable and plausible, one byte of noise otherwise (the gateway's decoder deals with noise);
 * 0 when more bytes are needed.
 */
function unitSize(bytes: Buffer, offset: number): number {
  const available = bytes.length - offset;
  if (bytes[offset] !== SYNC_0) return 1;
  if (available < 2) return 0;
  if (bytes[offset + 1] !== SYNC_1) return 1;
  if (available < Offset.LENGTH + 2) return 0;
  const length = bytes.readUInt16BE(offset + Offset.LENGTH);
  if (length < MIN_FRAME_SIZE || length > MAX_FRAME_SIZE) return 1;
  return available >= length ? length : 0;
}

/** Starts a proxy to the target with the profile; the caller connects to the returned address. */
export async function openLink(options: LinkOptions): Promise<{ proxy: LinkProxy; host: string; port: number }> {
  const proxy = new LinkProxy(options);
  const address = await proxy.listen();
  return { proxy, ...address };
}

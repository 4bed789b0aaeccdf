/**
 * A raw test terminal: a real TCP socket that speaks frames through the protocol codec and lets a
 * test choose everything firmware would get right (sequence number, RETRANSMIT flag, timestamp,
 * MAC key, terminal id), cut the socket at any point, and read the gateway's frames as they come.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import {
  Flag,
  FrameDecoder,
  FrameError,
  MessageType,
  ResultCode,
  decodePayload,
  deriveRefusalKey,
  deriveSessionKey,
  encodeFrame,
  encodePayload,
  verifyMac,
} from '../../protocol/index.js';
import type { Frame, MessageMap, SignInResponse } from '../../protocol/index.js';

type RequestType = 0x01 | 0x02 | 0x03 | 0x04 | 0x05 | 0x06 | 0x07 | 0x08;
/** Request type → its response type, for typed reads. */
interface ResponseTypes {
  1: 0x81; 2: 0x82; 3: 0x83; 4: 0x84; 5: 0x85; 6: 0x86; 7: 0x87; 8: 0x88;
}
export type Response<T extends RequestType> = MessageMap[ResponseTypes[T]];

export interface SendOptions {
  /** Default: the next number after the last one sent. */
  seq?: number;
  /** Sets the RETRANSMIT flag. */
  retransmit?: boolean;
  flags?: number;
  /** Unix seconds; default now. */
  timestamp?: number;
  /** Default: the session key once signed in, else the terminal key (sign-in). null: zero MAC. */
  macKey?: Buffer | null;
  terminalId?: string;
}

export class TestTerminal {
  readonly socket: Socket;
  /** The last sequence number sent. */
  seq: number;
  sessionKey: Buffer | null = null;
  /** Resolves when the socket has closed, for whatever reason. */
  readonly closed: Promise<void>;
  private readonly decoder = new FrameDecoder();
  private readonly frames: Frame[] = [];
  private readonly errors: FrameError[] = [];
  private waiter: (() => void) | null = null;
  private ended = false;

  private constructor(
    socket: Socket,
    readonly terminalId: string,
    readonly key: Buffer,
    seq: number,
  ) {
    this.socket = socket;
    this.seq = seq;
    socket.on('data', (chunk: Buffer) => {
      for (const item of this.decoder.push(chunk)) {
        if (item instanceof FrameError) this.errors.push(item);
        else this.frames.push({ ...item, raw: Buffer.from(item.raw), payload: Buffer.from(item.payload) });
      }
      this.wake();
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.ended = true;
        this.wake();
        resolve();
      }),
    );
  }

  static connect(port: number, terminalId: string, key: Buffer, options: { host?: string; seq?: number; localAddress?: string } = {}): Promise<TestTerminal> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host: options.host ?? '127.0.0.1', ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }) });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new TestTerminal(socket, terminalId, key, options.seq ?? 0));
      });
    });
  }

  get isClosed(): boolean {
    return this.ended;
  }

  /** The frame bytes a request would be sent as. */
  encode(type: number, payload: Buffer, options: SendOptions = {}): Buffer {
    const seq = options.seq ?? this.seq + 1;
    if (seq > this.seq) this.seq = seq;
    const flags = (options.flags ?? 0) | (options.retransmit === true ? Flag.RETRANSMIT : 0);
    const macKey = options.macKey !== undefined ? options.macKey : type === MessageType.SIGN_IN ? this.key : this.sessionKey;
    return encodeFrame(
      { type, flags, terminalId: options.terminalId ?? this.terminalId, seq, timestamp: options.timestamp ?? nowSec() },
      payload,
      macKey,
    );
  }

  /** Sends a request; returns the sequence number it carried. */
  send<T extends RequestType>(type: T, value: MessageMap[T], options: SendOptions = {}): number {
    const bytes = this.encode(type, encodePayload(type, value), options);
    this.socket.write(bytes);
    return bytes.readUInt32BE(15);
  }

  sendRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** The next frame from the gateway; rejects if none comes in time or the socket closes first. */
  async read(timeoutMs = 5000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const frame = this.frames.shift();
      if (frame !== undefined) return frame;
      if (this.errors.length > 0) throw this.errors.shift()!;
      if (this.ended) throw new Error('connection closed before a frame arrived');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no frame within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Sends a request and reads its response (the next frame, which must be that response). */
  async request<T extends RequestType>(type: T, value: MessageMap[T], options: SendOptions = {}): Promise<{ frame: Frame; response: Response<T> }> {
    const seq = this.send(type, value, options);
    const frame = await this.read();
    if (frame.type !== (type | 0x80)) throw new Error(`expected response 0x${(type | 0x80).toString(16)}, got 0x${frame.type.toString(16)}`);
    if (frame.seq !== seq) throw new Error(`response echoes seq ${frame.seq}, the request carried ${seq}`);
    return { frame, response: decodeResponse(type, frame) };
  }

  /**
   * Signs in with a fresh nonce; on APPROVED derives and keeps the session key. `authenticated`:
   * the answer's MAC checks under the session key (APPROVED) or the refusal key (§5.4).
   */
  async signIn(options: SendOptions = {}): Promise<{ frame: Frame; response: SignInResponse; authenticated: boolean }> {
    const nonce = randomBytes(16);
    const answer = await this.request(MessageType.SIGN_IN, { nonce, firmware: 'TEST-1.0' }, options);
    if (answer.response.result === ResultCode.APPROVED) {
      this.sessionKey = deriveSessionKey(this.key, this.terminalId, nonce, answer.response.nonce);
      return { ...answer, authenticated: verifyMac(answer.frame, this.sessionKey) };
    }
    return { ...answer, authenticated: verifyMac(answer.frame, deriveRefusalKey(this.key, this.terminalId, nonce)) };
  }

  /** True when the frame's MAC checks under the session key. */
  macValid(frame: Frame): boolean {
    return this.sessionKey !== null && verifyMac(frame, this.sessionKey);
  }

  /** Cuts the connection at once (no FIN handshake wait): a lost link. */
  cut(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.();
  }
}

export function decodeResponse<T extends RequestType>(type: T, frame: Frame): Response<T> {
  return decodePayload((type | 0x80) as ResponseTypes[T], frame.payload) as Response<T>;
}

export function nowSec(): number {
  return Math.floor(Date.now() / 1000);
}

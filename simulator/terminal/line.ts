/**
 * One TCP connection from the terminal to the gateway (or to the link emulator in front of it):
 * bytes out, frames in, and a wait for the answer to one sequence number. A NOTICE is kept for
 * the terminal to read (the gateway closes right after sending it).
 */
import { connect, type Socket } from 'node:net';
import { FrameDecoder, FrameError, MessageType, decodePayload, type Frame, type Notice } from '../../protocol/index.js';

export type WaitOutcome = Frame | 'timeout' | 'closed';

interface Waiter {
  seq: number;
  responseType: number;
  resolve: (outcome: WaitOutcome) => void;
  timer: NodeJS.Timeout;
}

export class Line {
  private readonly decoder = new FrameDecoder();
  private waiter: Waiter | null = null;
  private isClosed = false;
  /** The last NOTICE received: why the gateway is closing and when to come back. */
  notice: Notice | null = null;
  /** The frame it came in, so the terminal can tell whether the gateway's session MACed it. */
  noticeFrame: Frame | null = null;

  private constructor(
    private readonly socket: Socket,
    onClosed: (line: Line) => void,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      for (const item of this.decoder.push(chunk)) {
        if (item instanceof FrameError) {
          if (item.fatal) socket.destroy();
          continue;
        }
        this.onFrame(item);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.isClosed = true;
      this.settle('closed');
      onClosed(this);
    });
  }

  /** `onClosed` runs once when the connection is gone, whoever closed it. */
  static open(host: string, port: number, timeoutMs: number, onClosed: (line: Line) => void): Promise<Line> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, host);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no TCP connection to ${host}:${port} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new Line(socket, onClosed));
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  get closed(): boolean {
    return this.isClosed;
  }

  send(frame: Buffer): void {
    if (!this.isClosed) this.socket.write(frame);
  }

  /** The response (or REJECT) to `seq`, or why none came. One request is in flight at a time. */
  wait(seq: number, responseType: number, timeoutMs: number): Promise<WaitOutcome> {
    if (this.isClosed) return Promise.resolve('closed');
    this.settle('closed');
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.settle('timeout'), timeoutMs);
      this.waiter = { seq, responseType, resolve, timer };
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onFrame(frame: Frame): void {
    if (frame.type === MessageType.NOTICE) {
      this.noticeFrame = { ...frame, raw: Buffer.from(frame.raw) };
      try {
        this.notice = decodePayload(MessageType.NOTICE, frame.payload);
      } catch {
        // a malformed notice still means the gateway is closing
      }
      return;
    }
    const waiter = this.waiter;
    // A late answer to a request already given up on is dropped, as firmware would.
    if (!waiter || frame.seq !== waiter.seq) return;
    if (frame.type !== waiter.responseType && frame.type !== MessageType.REJECT) return;
    this.settle(frame);
  }

  private settle(outcome: WaitOutcome): void {
    const waiter = this.waiter;
    if (!waiter) return;
    this.waiter = null;
    clearTimeout(waiter.timer);
    waiter.resolve(outcome);
  }
}

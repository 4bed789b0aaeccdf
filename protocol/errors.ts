/**
 * The decoder's typed errors (PROTOCOL.md §8). Callers match on `code`, never on the message
 * text; `fatal` says whether the connection must close (§8 lists what the gateway does per code).
 */

export const FrameErrorCode = {
  /** Bytes where a frame should start are not A5 5A; the decoder skipped to the next sync. */
  SYNC: 'ERR_SYNC',
  /** Unknown protocol version: fatal, the stream can no longer be trusted. */
  VERSION: 'ERR_VERSION',
  /** Length field outside 33..maxFrameSize: fatal, nothing of the body is buffered. */
  LENGTH: 'ERR_LENGTH',
  /** Fewer bytes than the length field announces (only a whole-buffer decode can know this). */
  TRUNCATED: 'ERR_TRUNCATED',
  /** CRC mismatch: the decoder resyncs one byte after this frame's sync. */
  CRC: 'ERR_CRC',
  /** Well-framed (CRC good) but of a message type this protocol version does not define. */
  TYPE: 'ERR_TYPE',
  /**
   * Well-framed (CRC good) but the terminal id is not 8 characters [0-9A-Z]: no answer can be
   * addressed to it, so the frame is skipped (a bad frame) and the header is not reported.
   */
  TERMINAL_ID: 'ERR_TERMINAL_ID',
  /** The payload does not have its message type's layout. */
  PAYLOAD: 'ERR_PAYLOAD',
  /** The MAC does not check under the key the receiver holds. */
  MAC: 'ERR_MAC',
} as const;
export type FrameErrorCode = (typeof FrameErrorCode)[keyof typeof FrameErrorCode];

/** The header fields of a frame whose CRC checked, so the receiver can answer it. */
export interface FrameErrorHeader {
  type: number;
  terminalId: string;
  seq: number;
}

export class FrameError extends Error {
  readonly code: FrameErrorCode;
  /** The connection must close: the stream cannot be resynchronised safely. */
  readonly fatal: boolean;
  readonly header?: FrameErrorHeader;

  constructor(code: FrameErrorCode, message: string, options: { fatal?: boolean; header?: FrameErrorHeader } = {}) {
    // A FrameError is a verdict on bytes a peer sent, returned by the thousand for a hostile
    // stream: capturing a stack for each made decoding a 64 kB chunk of fake headers cost ~75 ms
    // of CPU instead of ~10 (found by the fuzzer's profile). The code says where it came from.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = stackTraceLimit;
    this.name = 'FrameError';
    this.code = code;
    this.fatal = options.fatal ?? false;
    if (options.header !== undefined) this.header = options.header;
  }
}

/** Every code, for tests and metrics that must know the whole set. */
export const FRAME_ERROR_CODES: ReadonlySet<string> = new Set(Object.values(FrameErrorCode));

/**
 * The shape of the golden-vector JSON files (protocol/vectors/README.md): what the generator writes
 * and what every test, here or in another implementation, reads. Byte strings are hex.
 */

/** The key material that checks a vector's MAC (all hex, but the terminal id). */
export interface VectorKeys {
  terminalId: string;
  terminalKey: string;
  terminalNonce: string;
  gatewayNonce: string;
  sessionKey: string;
}

/** Which key the MAC is computed with: the terminal key (SIGN_IN), the session key, or none (zero MAC). */
export type MacKey = 'terminal' | 'session' | 'none';

export interface ValidVector {
  name: string;
  description: string;
  direction: 'terminal-to-gateway' | 'gateway-to-terminal';
  hex: string;
  header: { version: number; type: number; typeName: string; flags: number; terminalId: string; seq: number; timestamp: number };
  payload: Record<string, unknown>;
  payloadHex: string;
  mac: string;
  crc: string;
  macKey: MacKey;
  keys: VectorKeys;
}

/** One item FrameDecoder.push returns for an invalid vector's bytes. */
export type DecoderOutput =
  | { error: string; fatal: boolean; header?: { type: number; terminalId: string; seq: number } }
  | { frame: { type: number; seq: number } };

export interface InvalidVector {
  name: string;
  description: string;
  hex: string;
  /** The FrameErrorCode expected. */
  error: string;
  /** Where it shows: 'frame' (decodeFrame throws it, FrameDecoder.push returns it), 'payload'
   *  (the frame decodes; decodePayload throws it), 'mac' (the frame decodes; the MAC fails). */
  stage: 'frame' | 'payload' | 'mac';
  fatal: boolean;
  /** What FrameDecoder.push(all of hex) returns, in order. */
  decoder: DecoderOutput[];
  /** The bytes the decoder holds after them. */
  buffered: number;
  /** A frame that follows these bytes on the same stream is still decoded (non-fatal errors). */
  recovers: boolean;
  keys?: VectorKeys;
  macKey?: MacKey;
}

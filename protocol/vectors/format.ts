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
  /** Kr, derived from the terminal key and the terminal nonce (§5.4): MACs sign-in refusals. */
  refusalKey: string;
}

/**
 * Which key the MAC is computed with: the terminal key (SIGN_IN), the session key, the refusal key
 * (a sign-in refusal after the request's MAC verified), or none (zero MAC).
 */
export type MacKey = 'terminal' | 'session' | 'refusal' | 'none';

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

/**
 * A frame as someone on the carrier's network can send it, without the keys: well framed (good
 * CRC), its payload of the right layout, but its MAC verifies under none of the scenario's keys.
 * A terminal MUST NOT act on it as `rule` (a section of PROTOCOL.md §9) says.
 */
export interface ForgedVector {
  name: string;
  description: string;
  hex: string;
  header: ValidVector['header'];
  payload: Record<string, unknown>;
  /** What the terminal does on receiving it, in one sentence. */
  terminal: string;
  rule: string;
  keys: VectorKeys;
}

/**
 * Every golden vector decoded, encoded and round-tripped, and fed to the streaming decoder whole,
 * byte by byte, split at every boundary and back to back with the others (STYLE.md §3).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  FrameDecoder,
  FrameError,
  MessageType,
  ResultCode,
  decodeFrame,
  decodePayload,
  deriveRefusalKey,
  deriveSessionKey,
  encodeFrame,
  encodePayload,
  hasZeroMac,
  verifyMac,
  type Frame,
  type MessageMap,
} from '../../protocol/index.js';
import { type DecoderOutput, type ForgedVector, type InvalidVector, forgedVectors, invalidVectors, macKeyOf, messageOf, validVectors } from './vectors.js';

const bytesOf = (vector: { hex: string }) => Buffer.from(vector.hex, 'hex');
const isFrame = (item: Frame | FrameError): item is Frame => !(item instanceof FrameError);

function expectFrame(frame: Frame | FrameError | undefined, hex: string): void {
  expect(frame).toBeDefined();
  if (frame === undefined || !isFrame(frame)) throw new Error(`expected a frame, got ${String(frame)}`);
  expect(frame.raw.toString('hex')).toBe(hex);
}

function pushAll(decoder: FrameDecoder, chunks: Buffer[]): Array<Frame | FrameError> {
  return chunks.flatMap((chunk) => decoder.push(chunk));
}

describe('coverage of the vectors', () => {
  it('has a request and a response of every message type, and NOTICE and REJECT', () => {
    const types = new Set(validVectors.map((v) => v.header.type));
    for (const type of Object.values(MessageType)) expect(types, `type 0x${type.toString(16)}`).toContain(type);
  });
  it('has every invalid class', () => {
    const codes = new Set(invalidVectors.map((v) => v.error));
    for (const code of ['ERR_SYNC', 'ERR_VERSION', 'ERR_LENGTH', 'ERR_TRUNCATED', 'ERR_CRC', 'ERR_TYPE', 'ERR_TERMINAL_ID', 'ERR_PAYLOAD', 'ERR_MAC']) {
      expect(codes).toContain(code);
    }
  });
});

describe.each(validVectors.map((v) => [v.name, v] as const))('valid vector %s', (_name, vector) => {
  const bytes = bytesOf(vector);
  const type = vector.header.type as keyof MessageMap;

  it('decodes to its header and payload', () => {
    const frame = decodeFrame(bytes);
    expect({
      version: frame.version,
      type: frame.type,
      flags: frame.flags,
      terminalId: frame.terminalId,
      seq: frame.seq,
      timestamp: frame.timestamp,
    }).toEqual({
      version: vector.header.version,
      type: vector.header.type,
      flags: vector.header.flags,
      terminalId: vector.header.terminalId,
      seq: vector.header.seq,
      timestamp: vector.header.timestamp,
    });
    expect(frame.payload.toString('hex')).toBe(vector.payloadHex);
    expect(frame.mac.toString('hex')).toBe(vector.mac);
    expect(decodePayload(type, frame.payload)).toEqual(messageOf(vector));
  });

  it('checks its MAC under the named key and no other', () => {
    const frame = decodeFrame(bytes);
    const key = macKeyOf(vector);
    if (key === null) {
      expect(hasZeroMac(frame)).toBe(true);
    } else {
      expect(hasZeroMac(frame)).toBe(false);
      expect(verifyMac(frame, key)).toBe(true);
      const other = Buffer.from(vector.macKey === 'session' ? vector.keys.terminalKey : vector.keys.sessionKey, 'hex');
      expect(verifyMac(frame, other)).toBe(false);
    }
  });

  it('is what the encoder makes of its fields', () => {
    const payload = encodePayload(type, messageOf(vector));
    expect(payload.toString('hex')).toBe(vector.payloadHex);
    const { typeName: _ignored, version: _v, ...header } = vector.header;
    expect(encodeFrame(header, payload, macKeyOf(vector)).toString('hex')).toBe(vector.hex);
  });

  it('round-trips: decode, re-encode, decode', () => {
    const frame = decodeFrame(bytes);
    const again = encodeFrame(frame, encodePayload(type, decodePayload(type, frame.payload)), macKeyOf(vector));
    expect(again.equals(bytes)).toBe(true);
    expect(decodeFrame(again)).toEqual(frame);
  });

  it('streams whole, byte by byte, and split at every boundary', () => {
    const whole = new FrameDecoder().push(bytes);
    expect(whole).toHaveLength(1);
    expectFrame(whole[0], vector.hex);

    const byByte = new FrameDecoder();
    const out: Array<Frame | FrameError> = [];
    for (let i = 0; i < bytes.length; i++) {
      out.push(...byByte.push(bytes.subarray(i, i + 1)));
      if (i < bytes.length - 1) expect(byByte.buffered).toBe(i + 1);
    }
    expect(out).toHaveLength(1);
    expectFrame(out[0], vector.hex);
    expect(byByte.buffered).toBe(0);

    for (let cut = 1; cut < bytes.length; cut++) {
      const split = pushAll(new FrameDecoder(), [bytes.subarray(0, cut), bytes.subarray(cut)]);
      expect(split).toHaveLength(1);
      expectFrame(split[0], vector.hex);
    }
  });
});

describe('several frames in one stream', () => {
  const stream = Buffer.concat(validVectors.map(bytesOf));

  it('decodes every vector from one chunk, in order', () => {
    const out = new FrameDecoder().push(stream);
    expect(out.map((f) => (isFrame(f) ? f.raw.toString('hex') : f.code))).toEqual(validVectors.map((v) => v.hex));
  });

  it('decodes them from chunks cut at every offset of a 3-byte to 97-byte stride', () => {
    for (let stride = 3; stride < 100; stride += 7) {
      const chunks: Buffer[] = [];
      for (let at = 0; at < stream.length; at += stride) chunks.push(stream.subarray(at, at + stride));
      const out = pushAll(new FrameDecoder(), chunks);
      expect(out.filter(isFrame).map((f) => f.raw.toString('hex'))).toEqual(validVectors.map((v) => v.hex));
    }
  });

  it('keeps a spanning frame intact when the caller reuses its chunk buffer', () => {
    const [first, second] = [bytesOf(validVectors[0]!), bytesOf(validVectors[1]!)];
    const decoder = new FrameDecoder();
    const scratch = Buffer.from(Buffer.concat([first, second.subarray(0, 10)]));
    const out = decoder.push(scratch);
    scratch.fill(0); // a caller recycling its read buffer
    out.push(...decoder.push(Buffer.from(second.subarray(10))));
    expect(out).toHaveLength(2);
    expectFrame(out[1], validVectors[1]!.hex);
  });
});

describe('PROTOCOL.md §10', () => {
  it('walks through the committed vectors, byte for byte', () => {
    const spec = readFileSync(new URL('../../protocol/PROTOCOL.md', import.meta.url), 'utf8');
    const shown = [...spec.matchAll(/\*\*`(\d\d-[a-z-]+)`\*\*[^\n]*\n\n```\n([\s\S]*?)```/g)];
    expect(shown.map(([, name]) => name)).toEqual([
      '01-sign-in-request',
      '02-sign-in-response-approved',
      '03-inquiry-request',
      '04-inquiry-response-approved',
      '05-pay-request',
      '06-pay-response-approved',
      '07-correct-request',
      '08-correct-response-approved',
      '09-settle-request',
      '10-settle-response-approved',
    ]);
    for (const [, name, dump] of shown) {
      const hex = dump!
        .trim()
        .split('\n')
        .map((line) => line.slice(6).replaceAll(' ', ''))
        .join('');
      expect(hex, name).toBe(validVectors.find((v) => v.name === name)!.hex);
    }
  });
});

describe('key material', () => {
  it('derives each vector session key from its terminal key and nonces', () => {
    for (const { keys } of validVectors) {
      const derived = deriveSessionKey(
        Buffer.from(keys.terminalKey, 'hex'),
        keys.terminalId,
        Buffer.from(keys.terminalNonce, 'hex'),
        Buffer.from(keys.gatewayNonce, 'hex'),
      );
      expect(derived.toString('hex')).toBe(keys.sessionKey);
    }
  });
  it('derives each vector refusal key from its terminal key and terminal nonce (§5.4)', () => {
    for (const { keys } of validVectors) {
      const derived = deriveRefusalKey(Buffer.from(keys.terminalKey, 'hex'), keys.terminalId, Buffer.from(keys.terminalNonce, 'hex'));
      expect(derived.toString('hex')).toBe(keys.refusalKey);
    }
  });
  it('authenticates every sign-in refusal that follows a verified request MAC with the refusal key', () => {
    const refusals = validVectors.filter((v) => v.header.type === MessageType.SIGN_IN_RESPONSE && v.payload.result !== ResultCode.APPROVED);
    const authenticated = refusals.filter((v) => v.macKey === 'refusal').map((v) => v.payload.result);
    expect(authenticated).toEqual(expect.arrayContaining([ResultCode.REPLAY, ResultCode.CLOCK_SKEW, ResultCode.SEQ_OUT_OF_RANGE, ResultCode.TERMINAL_DISABLED]));
    // Only the refusal a keyless peer gets carries a zero MAC.
    expect(refusals.filter((v) => v.macKey === 'none').map((v) => v.payload.result)).toEqual([ResultCode.UNKNOWN_TERMINAL]);
  });
});

describe.each(forgedVectors.map((v) => [v.name, v] as const))('forged vector %s', (_name, vector: ForgedVector) => {
  const frame = decodeFrame(Buffer.from(vector.hex, 'hex'));

  it('is well framed, with a payload of its layout: only the MAC gives it away', () => {
    expect({ type: frame.type, seq: frame.seq, terminalId: frame.terminalId, timestamp: frame.timestamp }).toEqual({
      type: vector.header.type, seq: vector.header.seq, terminalId: vector.header.terminalId, timestamp: vector.header.timestamp,
    });
    expect(decodePayload(frame.type as keyof MessageMap, frame.payload)).toEqual(messageOf({ payload: vector.payload } as never));
  });

  it('verifies under none of the keys a terminal holds: terminal key, session key, this sign-in\'s refusal key', () => {
    for (const key of [vector.keys.terminalKey, vector.keys.sessionKey, vector.keys.refusalKey]) {
      expect(verifyMac(frame, Buffer.from(key, 'hex'))).toBe(false);
    }
    expect(vector.terminal.length).toBeGreaterThan(0);
    expect(vector.rule).toMatch(/^§/);
  });
});

function expectOutputs(out: Array<Frame | FrameError>, expected: DecoderOutput[]): void {
  expect(
    out.map((item): DecoderOutput =>
      isFrame(item)
        ? { frame: { type: item.type, seq: item.seq } }
        : { error: item.code, fatal: item.fatal, ...(item.header ? { header: item.header } : {}) },
    ),
  ).toEqual(expected);
}

describe.each(invalidVectors.map((v) => [v.name, v] as const))('invalid vector %s', (_name, vector: InvalidVector) => {
  const bytes = bytesOf(vector);
  const follower = validVectors.find((v) => v.name.endsWith('-heartbeat-request'))!;

  it(`gives ${vector.error} where its stage says`, () => {
    if (vector.stage === 'frame') {
      let thrown: unknown;
      try {
        decodeFrame(bytes);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(FrameError);
      expect((thrown as FrameError).code).toBe(vector.error);
      expect((thrown as FrameError).fatal).toBe(vector.fatal);
      return;
    }
    const frame = decodeFrame(bytes);
    if (vector.stage === 'payload') {
      expect(() => decodePayload(frame.type as keyof MessageMap, frame.payload)).toThrow(
        expect.objectContaining({ code: 'ERR_PAYLOAD' }),
      );
    } else {
      expect(verifyMac(frame, Buffer.from(vector.keys!.sessionKey, 'hex'))).toBe(false);
    }
  });

  it('streams to its decoder outputs, whole and byte by byte', () => {
    const whole = new FrameDecoder();
    expectOutputs(whole.push(bytes), vector.decoder);
    expect(whole.buffered).toBe(vector.buffered);

    const byByte = new FrameDecoder();
    const out = [...bytes].flatMap((byte) => byByte.push(Buffer.of(byte)));
    expectOutputs(out, vector.decoder);
    expect(byByte.buffered).toBe(vector.buffered);
  });

  it(vector.recovers ? 'lets the next frame through' : 'lets nothing through after it', () => {
    const stream = Buffer.concat([bytes, bytesOf(follower)]);
    for (let cut = 0; cut <= stream.length; cut += Math.max(1, Math.floor(stream.length / 23))) {
      const decoder = new FrameDecoder();
      const out = pushAll(decoder, [stream.subarray(0, cut), stream.subarray(cut)]);
      const frames = out.filter(isFrame);
      if (vector.recovers) {
        expect(frames.at(-1)?.raw.toString('hex')).toBe(follower.hex);
        expectOutputs(out.slice(0, vector.decoder.length), vector.decoder);
      } else {
        expect(frames.map((f) => f.raw.toString('hex'))).not.toContain(follower.hex);
      }
      if (vector.fatal) expect(decoder.push(bytesOf(follower))).toEqual([]);
    }
  });
});

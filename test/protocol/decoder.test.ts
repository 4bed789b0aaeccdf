/** FrameDecoder behaviour the vectors alone do not pin down (PROTOCOL.md §8). */
import { describe, expect, it } from 'vitest';
import {
  FrameDecoder,
  FrameError,
  MAX_FRAME_SIZE,
  MessageType,
  crc16,
  encodeFrame,
  encodePayload,
  type Frame,
} from '../../protocol/index.js';

const key = Buffer.alloc(32, 0x11);
const frameOf = (seq: number, amountFen = 100) =>
  encodeFrame(
    { type: MessageType.PAY, terminalId: 'AC000001', seq, timestamp: 1_795_741_200 },
    encodePayload(MessageType.PAY, { account: '3100012345', amountFen }),
    key,
  );
const describeAll = (out: Array<Frame | FrameError>) => out.map((item) => (item instanceof FrameError ? item.code : item.seq));

describe('FrameDecoder', () => {
  it('reports one ERR_SYNC for a run of garbage, even across chunks', () => {
    const decoder = new FrameDecoder();
    const out = [
      ...decoder.push(Buffer.from('0102030405', 'hex')),
      ...decoder.push(Buffer.from('060708', 'hex')),
      ...decoder.push(Buffer.concat([Buffer.from('09', 'hex'), frameOf(1)])),
      ...decoder.push(Buffer.from('ff', 'hex')),
    ];
    expect(describeAll(out)).toEqual(['ERR_SYNC', 1, 'ERR_SYNC']);
  });

  it('holds a lone A5 at the end of a chunk until the next byte says whether it is a sync', () => {
    const frame = frameOf(2);
    const decoder = new FrameDecoder();
    const out = decoder.push(Buffer.concat([Buffer.from('0000', 'hex'), frame.subarray(0, 1)]));
    expect(describeAll(out)).toEqual(['ERR_SYNC']);
    expect(decoder.buffered).toBe(1);
    expect(describeAll(decoder.push(frame.subarray(1)))).toEqual([2]);
  });

  it('resyncs after a bad CRC one byte past its sync, finding a frame that starts inside it', () => {
    // A frame whose length field was corrupted upwards swallows the start of the next one; the
    // CRC fails and the scan restarts right after the bad sync, so the next frame is found.
    const bad = Buffer.from(frameOf(3));
    bad.writeUInt16BE(bad.length + 20, 3);
    const next = frameOf(4);
    const out = new FrameDecoder().push(Buffer.concat([bad, next, frameOf(5)]));
    expect(describeAll(out)).toEqual(['ERR_CRC', 4, 5]);
  });

  it('closes on an oversize length before holding any of the body, and then ignores everything', () => {
    const bad = Buffer.from(frameOf(6));
    bad.writeUInt16BE(MAX_FRAME_SIZE + 1, 3);
    const decoder = new FrameDecoder();
    const out = decoder.push(bad.subarray(0, 5));
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ code: 'ERR_LENGTH', fatal: true });
    expect(decoder.buffered).toBe(0);
    expect(decoder.push(frameOf(7))).toEqual([]);
  });

  it('applies a smaller maxFrameSize', () => {
    const decoder = new FrameDecoder({ maxFrameSize: 40 });
    expect(decoder.push(frameOf(8))[0]).toMatchObject({ code: 'ERR_LENGTH', fatal: true });
    expect(() => new FrameDecoder({ maxFrameSize: 32 })).toThrow(RangeError);
  });

  it('takes a frame of exactly the maximum size', () => {
    const payload = encodePayload(MessageType.STATUS_RESPONSE, {
      result: 0,
      state: 2,
      originalType: MessageType.PAY_RESPONSE,
      originalPayload: Buffer.alloc(MAX_FRAME_SIZE - 33 - 5, 0xa5),
    });
    const frame = encodeFrame({ type: MessageType.STATUS_RESPONSE, terminalId: 'AC000001', seq: 9, timestamp: 1 }, payload, null);
    expect(frame.length).toBe(MAX_FRAME_SIZE);
    const decoder = new FrameDecoder();
    const out = [...decoder.push(frame.subarray(0, 600)), ...decoder.push(frame.subarray(600))];
    expect(decoder.buffered).toBe(0);
    expect(describeAll(out)).toEqual([9]);
  });

  it('reads each frame\'s own terminal id when they differ within a stream', () => {
    const header = { type: MessageType.HEARTBEAT, seq: 1, timestamp: 1 };
    const stream = Buffer.concat(
      ['AC000001', 'AC000002', 'AC000002', 'ZZ000001'].map((terminalId) => encodeFrame({ ...header, terminalId }, Buffer.alloc(0), null)),
    );
    const out = new FrameDecoder().push(stream) as Frame[];
    expect(out.map((frame) => frame.terminalId)).toEqual(['AC000001', 'AC000002', 'AC000002', 'ZZ000001']);
  });

  it('skips a well-framed frame whose terminal id is not [0-9A-Z]{8} (ERR_TERMINAL_ID, no header), then reads the next', () => {
    const withId = (id: string, seq: number, type: number = MessageType.PAY) => {
      const frame = frameOf(seq);
      frame[5] = type;
      frame.write(id, 7, 'latin1');
      frame.writeUInt16BE(crc16(frame.subarray(0, frame.length - 2)), frame.length - 2);
      return frame;
    };
    // Found by the live fuzzer: the gateway echoed such an id in its answer, and the encoder refused it.
    const out = new FrameDecoder().push(Buffer.concat([
      withId('ac000001', 1), withId('AC000001', 2), withId('AC0000\u00ce1', 3), withId('AC000001', 4), withId('ZZZ[ZZZZ', 5, 0x42),
    ]));
    expect(describeAll(out)).toEqual(['ERR_TERMINAL_ID', 2, 'ERR_TERMINAL_ID', 4, 'ERR_TERMINAL_ID']);
    expect(out[0]).toMatchObject({ fatal: false });
    expect((out[0] as FrameError).header).toBeUndefined();
  });

  it('returns FrameErrors without a stack trace (a hostile stream makes thousands), leaving Error.stackTraceLimit as it was', () => {
    const limit = Error.stackTraceLimit;
    const fakeHeaders = Buffer.alloc(5 * 1000);
    for (let at = 0; at < fakeHeaders.length; at += 5) Buffer.from([0xa5, 0x5a, 0x01, 0x00, 0x21]).copy(fakeHeaders, at);
    const out = new FrameDecoder().push(fakeHeaders);
    expect(out.length).toBeGreaterThan(900);
    for (const item of out) {
      expect(item).toBeInstanceOf(FrameError);
      expect((item as FrameError).stack).not.toMatch(/\n\s+at /);
    }
    expect(Error.stackTraceLimit).toBe(limit);
    expect(new Error('an ordinary error').stack).toMatch(/\n\s+at /);
  });

  it('gives the header of a well-framed frame of unknown type, so it can be answered', () => {
    const frame = encodeFrame({ type: 0x42, terminalId: 'AC000001', seq: 77, timestamp: 1 }, Buffer.alloc(0), null);
    const [error] = new FrameDecoder().push(frame);
    expect(error).toBeInstanceOf(FrameError);
    expect(error).toMatchObject({ code: 'ERR_TYPE', fatal: false, header: { type: 0x42, terminalId: 'AC000001', seq: 77 } });
  });

  it('returns frames inside one chunk as views of it, and spanning frames as their own copies', () => {
    const chunk = Buffer.concat([frameOf(10), frameOf(11).subarray(0, 20)]);
    const decoder = new FrameDecoder();
    const [inside] = decoder.push(chunk) as Frame[];
    chunk[7] = 0x5a; // the view sees the chunk's bytes: no copy was made
    expect(inside!.raw[7]).toBe(0x5a);
    const rest = Buffer.from(frameOf(11).subarray(20));
    const [spanning] = decoder.push(rest) as Frame[];
    rest.fill(0);
    chunk.fill(0);
    expect(spanning!.raw.equals(frameOf(11))).toBe(true);
  });
});

/**
 * `aircharge-sim explain`: a frame taken apart field by field, the tool a field engineer uses on a
 * capture. It takes the frame's hex, or any text that holds it (a hex dump with spaces or colons,
 * a log line): the first A5 5A run is the frame. The header is shown even when the CRC is wrong,
 * so a damaged frame still says what it was.
 */
import {
  CRC_SIZE,
  Flag,
  HEADER_SIZE,
  MIN_FRAME_SIZE,
  MessageType,
  Offset,
  RESULT_NAME,
  TRAILER_SIZE,
  crc16,
  decodePayload,
  hasZeroMac,
  isMessageType,
  verifyMac,
  type Frame,
  type MessageMap,
} from '../../protocol/index.js';
import { formatYuan } from '../../src/admin/index.js';

const TYPE_NAME: ReadonlyMap<number, string> = new Map(Object.entries(MessageType).map(([name, code]) => [code, name]));

export interface Explanation {
  ok: boolean;
  bytes: number;
  /** Bytes after the frame's end in the input (another frame, or noise). */
  trailing: number;
  header: {
    sync: string;
    version: number;
    length: number;
    type: number;
    typeName: string;
    flags: number;
    flagNames: string[];
    terminalId: string;
    seq: number;
    timestamp: number;
    time: string;
  };
  payload: { hex: string; fields: Record<string, unknown> | null; error: string | null };
  mac: { hex: string; check: 'ok' | 'mismatch' | 'zero' | 'unchecked' };
  crc: { stored: string; computed: string; ok: boolean };
  problems: string[];
}

/** The frame's bytes out of whatever text holds them, or null when there is no A5 5A run. */
export function extractFrameBytes(text: string): Buffer | null {
  const match = /a5[\s:.\-]*5a(?:[\s:.\-]*[0-9a-f]{2})*/i.exec(text);
  if (!match) return null;
  return Buffer.from(match[0].replace(/[^0-9a-f]/gi, ''), 'hex');
}

export function explainFrame(input: Buffer, macKey: Buffer | null): Explanation {
  const problems: string[] = [];
  if (input.length < MIN_FRAME_SIZE) {
    throw new Error(`${input.length} bytes: shorter than the smallest frame (${MIN_FRAME_SIZE})`);
  }
  const length = input.readUInt16BE(Offset.LENGTH);
  let bytes = input;
  if (length < MIN_FRAME_SIZE) problems.push(`length field ${length} is below the minimum ${MIN_FRAME_SIZE}`);
  else if (length > input.length) problems.push(`length field says ${length} bytes, only ${input.length} given`);
  else bytes = input.subarray(0, length);

  const type = bytes[Offset.TYPE]!;
  const flags = bytes[Offset.FLAGS]!;
  const timestamp = bytes.readUInt32BE(Offset.TIMESTAMP);
  const version = bytes[Offset.VERSION]!;
  if (version !== 1) problems.push(`unknown protocol version ${version}`);
  if (!isMessageType(type)) problems.push(`unknown message type 0x${hex2(type)}`);

  const macAt = bytes.length - TRAILER_SIZE;
  const crcAt = bytes.length - CRC_SIZE;
  const stored = bytes.readUInt16BE(crcAt);
  const computed = crc16(bytes, 0, crcAt);
  if (stored !== computed) problems.push('CRC mismatch');

  const payload = bytes.subarray(HEADER_SIZE, macAt);
  let fields: Record<string, unknown> | null = null;
  let payloadError: string | null = null;
  if (isMessageType(type)) {
    try {
      fields = presentable(decodePayload(type as keyof MessageMap, payload) as unknown as Record<string, unknown>, type);
    } catch (error) {
      payloadError = (error as Error).message;
      problems.push(`payload: ${payloadError}`);
    }
  }

  const frame: Frame = {
    version,
    type,
    flags,
    terminalId: bytes.toString('latin1', Offset.TERMINAL_ID, Offset.TERMINAL_ID + 8),
    seq: bytes.readUInt32BE(Offset.SEQ),
    timestamp,
    payload,
    mac: bytes.subarray(macAt, crcAt),
    raw: bytes,
  };
  let check: Explanation['mac']['check'] = 'unchecked';
  if (hasZeroMac(frame)) check = 'zero';
  else if (macKey) check = verifyMac(frame, macKey) ? 'ok' : 'mismatch';
  if (check === 'mismatch') problems.push('MAC does not check under the given key');

  return {
    ok: problems.length === 0,
    bytes: bytes.length,
    trailing: input.length - bytes.length,
    header: {
      sync: bytes.subarray(0, 2).toString('hex').toUpperCase(),
      version,
      length,
      type,
      typeName: TYPE_NAME.get(type) ?? 'UNKNOWN',
      flags,
      flagNames: flags & Flag.RETRANSMIT ? ['RETRANSMIT'] : [],
      terminalId: frame.terminalId,
      seq: frame.seq,
      timestamp,
      time: new Date(timestamp * 1000).toISOString(),
    },
    payload: { hex: payload.toString('hex'), fields, error: payloadError },
    mac: { hex: frame.mac.toString('hex'), check },
    crc: { stored: `0x${stored.toString(16).padStart(4, '0')}`, computed: `0x${computed.toString(16).padStart(4, '0')}`, ok: stored === computed },
    problems,
  };
}

/**
 * Field values for JSON: byte fields in hex, numbers as they are; a result code and a STATUS's
 * original type also by name, and a STATUS's stored answer decoded.
 */
function presentable(value: Record<string, unknown>, type: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(value)) {
    out[name] = Buffer.isBuffer(field) ? field.toString('hex') : field;
    if (name === 'result' && typeof field === 'number') out.resultName = RESULT_NAME.get(field) ?? 'UNKNOWN';
    if (name === 'originalType' && typeof field === 'number' && field !== 0) out.originalTypeName = TYPE_NAME.get(field) ?? 'UNKNOWN';
  }
  if (type === MessageType.STATUS_RESPONSE) {
    const original = value as { originalType?: number; originalPayload?: Buffer };
    if (original.originalType && original.originalPayload && original.originalPayload.length > 0) {
      try {
        out.original = presentable(
          decodePayload(original.originalType as keyof MessageMap, original.originalPayload) as unknown as Record<string, unknown>,
          original.originalType,
        );
      } catch (error) {
        out.original = `undecodable: ${(error as Error).message}`;
      }
    }
  }
  return out;
}

export function formatExplanation(e: Explanation): string {
  const h = e.header;
  const lines = [
    `frame     ${e.bytes} bytes${e.trailing > 0 ? ` (+${e.trailing} bytes after it)` : ''}`,
    `sync      ${h.sync}`,
    `version   ${h.version}`,
    `length    ${h.length}`,
    `type      0x${hex2(h.type)} ${h.typeName}`,
    `flags     0x${hex2(h.flags)}${h.flagNames.length ? ` ${h.flagNames.join(' ')}` : ''}`,
    `terminal  ${JSON.stringify(h.terminalId)}`,
    `seq       ${h.seq}`,
    `timestamp ${h.timestamp} (${h.time})`,
    `payload   ${e.payload.hex.length / 2} bytes${e.payload.hex ? `: ${e.payload.hex}` : ''}`,
  ];
  if (e.payload.fields) lines.push(...fieldLines(e.payload.fields, '  '));
  if (e.payload.error) lines.push(`  ! ${e.payload.error}`);
  const macNote = { ok: 'ok under the given key', mismatch: 'MISMATCH under the given key', zero: 'all zero (advisory, unauthenticated)', unchecked: 'not checked (give --key or --session-key)' }[e.mac.check];
  lines.push(`mac       ${e.mac.hex}  ${macNote}`);
  lines.push(`crc       ${e.crc.stored}  ${e.crc.ok ? 'ok' : `BAD (computed ${e.crc.computed})`}`);
  lines.push(e.ok ? 'verdict   ok' : `verdict   ${e.problems.join('; ')}`);
  return lines.join('\n');
}

function fieldLines(fields: Record<string, unknown>, indent: string): string[] {
  const lines: string[] = [];
  for (const [name, value] of Object.entries(fields)) {
    if (name === 'resultName' || name === 'originalTypeName') continue;
    if (name === 'result') {
      lines.push(`${indent}${'result'.padEnd(15)} 0x${hex2(value as number)} ${String(fields.resultName)}`);
      continue;
    }
    if (name === 'originalType') {
      lines.push(`${indent}${'originalType'.padEnd(15)} 0x${hex2(value as number)} ${String(fields.originalTypeName ?? '')}`);
      continue;
    }
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      lines.push(`${indent}${name}:`);
      lines.push(...fieldLines(value as Record<string, unknown>, `${indent}  `));
    } else {
      const shown = typeof value === 'string' ? value : JSON.stringify(value);
      const money = /Fen$/.test(name) && typeof value === 'number' ? ` (¥${formatYuan(value, { grouped: true })})` : '';
      lines.push(`${indent}${name.padEnd(15)} ${shown}${money}`);
    }
  }
  return lines;
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

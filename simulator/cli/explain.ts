/**
 * `aircharge-sim explain`: a frame taken apart field by field, the tool a field engineer uses on a
 * capture. It takes the frame's hex, or any text that holds it: a hex dump with spaces or colons,
 * `xxd` or `hexdump -C` output, or the gateway's own `frame in` debug log line (pino JSON, whose
 * MAC is masked: src/log.ts maskedFrameHex). The first A5 5A is the frame's start. The header is
 * shown even when the CRC is wrong, so a damaged frame still says what it was; codes are named
 * (result, NOTICE reason, STATUS state, merchant kind, a heartbeat's power and printer).
 */
import {
  CRC_SIZE,
  SYNC,
  Flag,
  HEADER_SIZE,
  MIN_FRAME_SIZE,
  MerchantKind,
  MessageType,
  NoticeReason,
  Offset,
  PowerSource,
  PrinterState,
  MESSAGE_TYPE_NAME,
  RESULT_NAME,
  TransactionState,
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
import { signalClass } from '../../src/store/health.js';

const namesOf = (codes: Record<string, number>): ReadonlyMap<number, string> => new Map(Object.entries(codes).map(([name, code]) => [code, name]));

/** Fields whose number is a code with a name in PROTOCOL.md, by the message types that carry them. */
const CODE_NAMES: ReadonlyArray<{ field: string; types: readonly number[] | null; names: ReadonlyMap<number, string> }> = [
  { field: 'result', types: null, names: RESULT_NAME },
  { field: 'originalType', types: null, names: MESSAGE_TYPE_NAME },
  { field: 'reason', types: [MessageType.NOTICE], names: namesOf(NoticeReason) },
  { field: 'state', types: [MessageType.STATUS_RESPONSE], names: namesOf(TransactionState) },
  { field: 'merchantKind', types: [MessageType.SIGN_IN_RESPONSE], names: namesOf(MerchantKind) },
  { field: 'power', types: [MessageType.HEARTBEAT], names: namesOf(PowerSource) },
  { field: 'printer', types: [MessageType.HEARTBEAT], names: namesOf(PrinterState) },
];

/** Where the frame's bytes came from, and whether its MAC is known. */
export interface Capture {
  /** From the first A5 5A on. */
  bytes: Buffer;
  source: 'hex' | 'xxd' | 'hexdump' | 'log';
  /** The gateway logs frames with the MAC masked: those 8 bytes are unknown (zero here). */
  macMasked: boolean;
  /** A log line's own facts: its time (ISO), connection, peer and terminal. */
  log?: Record<string, unknown>;
}

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
  mac: { hex: string; check: 'ok' | 'mismatch' | 'zero' | 'unchecked' | 'masked' };
  /** computed and ok are null when the MAC the CRC covers is masked. */
  crc: { stored: string; computed: string | null; ok: boolean | null };
  problems: string[];
}

/** The frame's bytes out of whatever text holds them, or null when there is no A5 5A run. */
export function extractFrameBytes(text: string): Buffer | null {
  return readCapture(text)?.bytes ?? null;
}

/** A log line, an xxd or hexdump -C dump, or hex in any other text; null when it holds no A5 5A. */
export function readCapture(text: string): Capture | null {
  return fromLogLine(text) ?? fromDump(text) ?? fromHex(text);
}

const fromSync = (bytes: Buffer): Buffer | null => {
  const at = bytes.indexOf(SYNC);
  return at < 0 ? null : bytes.subarray(at);
};

/** The gateway's `frame in` line (pino JSON, `frame` the hex with the MAC as `*`s). */
function fromLogLine(text: string): Capture | null {
  for (const line of text.split('\n')) {
    if (!line.trimStart().startsWith('{')) continue;
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (typeof entry.frame !== 'string' || !/^[0-9a-f*]+$/i.test(entry.frame) || entry.frame.length % 2 !== 0) continue;
    const bytes = fromSync(Buffer.from(entry.frame.replace(/\*/g, '0'), 'hex'));
    if (bytes === null) continue;
    const log: Record<string, unknown> = {};
    if (typeof entry.msg === 'string') log.msg = entry.msg;
    // The gateway writes ISO times; pino's default is epoch ms.
    if (typeof entry.time === 'string') log.time = entry.time;
    else if (typeof entry.time === 'number') log.time = new Date(entry.time).toISOString();
    for (const field of ['conn', 'peer', 'terminal', 'instance']) if (entry[field] !== undefined) log[field] = entry[field];
    return { bytes, source: 'log', macMasked: entry.frame.includes('*'), log };
  }
  return null;
}

/** `xxd`: `00000000: a55a 0100 ...  .Z..`; `hexdump -C`: `00000000  a5 5a 01 00 ...  |.Z..|`, `*` for repeated lines. */
const XXD_LINE = /^([0-9a-f]{7,8}): ((?:[0-9a-f]{2,4} ?)+?)(?: {2}.*)?$/i;
const HEXDUMP_LINE = /^([0-9a-f]{7,8})((?: {1,2}[0-9a-f]{2}){0,16})\s*(?:\|.*\|)?\s*$/i;

function fromDump(text: string): Capture | null {
  const lines = text.split('\n').map((line) => line.trimEnd()).filter((line) => line.trim() !== '');
  const xxd = lines.some((line) => XXD_LINE.test(line));
  const hexdump = !xxd && lines.some((line) => /\|.*\|\s*$/.test(line) && HEXDUMP_LINE.test(line));
  if (!xxd && !hexdump) return null;
  const bytes: number[] = [];
  let previous: number[] = [];
  let squeezed = false;
  for (const line of lines) {
    if (hexdump && line.trim() === '*') {
      squeezed = true;
      continue;
    }
    const match = (xxd ? XXD_LINE : HEXDUMP_LINE).exec(line);
    if (match === null) continue;
    const offset = parseInt(match[1]!, 16);
    // hexdump prints `*` for lines equal to the one before: they fill the gap up to this offset.
    while (squeezed && previous.length > 0 && bytes.length < offset) bytes.push(...previous.slice(0, offset - bytes.length));
    squeezed = false;
    const row = (match[2]!.replace(/\s+/g, '').match(/../g) ?? []).map((pair) => parseInt(pair, 16));
    bytes.length = Math.max(bytes.length, offset);
    bytes.splice(offset, row.length, ...row);
    if (row.length > 0) previous = row;
  }
  const frame = fromSync(Buffer.from(bytes.map((b) => b ?? 0)));
  return frame === null ? null : { bytes: frame, source: xxd ? 'xxd' : 'hexdump', macMasked: false };
}

function fromHex(text: string): Capture | null {
  const match = /a5[\s:.\-]*5a(?:[\s:.\-]*[0-9a-f]{2})*/i.exec(text);
  if (!match) return null;
  return { bytes: Buffer.from(match[0].replace(/[^0-9a-f]/gi, ''), 'hex'), source: 'hex', macMasked: false };
}

/**
 * The frame field by field. `macMasked`: its MAC bytes are unknown (the gateway's log masks them),
 * so neither the MAC nor the CRC, which covers the MAC, can be checked; neither counts as a problem.
 */
export function explainFrame(input: Buffer, macKey: Buffer | null, options: { macMasked?: boolean } = {}): Explanation {
  const masked = options.macMasked === true;
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
  if (!masked && stored !== computed) problems.push('CRC mismatch');

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
  if (masked) check = 'masked';
  else if (hasZeroMac(frame)) check = 'zero';
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
      typeName: MESSAGE_TYPE_NAME.get(type) ?? 'UNKNOWN',
      flags,
      flagNames: flags & Flag.RETRANSMIT ? ['RETRANSMIT'] : [],
      terminalId: frame.terminalId,
      seq: frame.seq,
      timestamp,
      time: new Date(timestamp * 1000).toISOString(),
    },
    payload: { hex: payload.toString('hex'), fields, error: payloadError },
    mac: { hex: masked ? '*'.repeat(2 * frame.mac.length) : frame.mac.toString('hex'), check },
    crc: masked
      ? { stored: `0x${stored.toString(16).padStart(4, '0')}`, computed: null, ok: null }
      : { stored: `0x${stored.toString(16).padStart(4, '0')}`, computed: `0x${computed.toString(16).padStart(4, '0')}`, ok: stored === computed },
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
    if (typeof field !== 'number') continue;
    const code = CODE_NAMES.find((c) => c.field === name && (c.types === null || c.types.includes(type)));
    // A STATUS of a request never answered has originalType 0: no type to name.
    if (code !== undefined && !(name === 'originalType' && field === 0)) out[`${name}Name`] = code.names.get(field) ?? 'UNKNOWN';
    if (name === 'signal' && type === MessageType.HEARTBEAT) out.signalName = signalClass(field);
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
  const macNote = {
    ok: 'ok under the given key',
    mismatch: 'MISMATCH under the given key',
    zero: 'all zero (advisory, unauthenticated)',
    unchecked: 'not checked (give --key or --session-key)',
    masked: 'masked in the gateway log (it never logs a MAC): not checked',
  }[e.mac.check];
  lines.push(`mac       ${e.mac.hex}  ${macNote}`);
  const crcNote = e.crc.ok === null ? 'not checked (it covers the masked MAC)' : e.crc.ok ? 'ok' : `BAD (computed ${e.crc.computed})`;
  lines.push(`crc       ${e.crc.stored}  ${crcNote}`);
  lines.push(e.ok ? 'verdict   ok' : `verdict   ${e.problems.join('; ')}`);
  return lines.join('\n');
}

function fieldLines(fields: Record<string, unknown>, indent: string): string[] {
  const lines: string[] = [];
  for (const [name, value] of Object.entries(fields)) {
    if (name.endsWith('Name') && typeof value === 'string' && typeof fields[name.slice(0, -4)] === 'number') continue;
    const named = fields[`${name}Name`];
    if (typeof value === 'number' && (typeof named === 'string' || name === 'originalType')) {
      // A code in hex with its name; a signal strength in AT+CSQ units with its class.
      const shown = name === 'signal' ? String(value) : `0x${hex2(value)}`;
      lines.push(`${indent}${name.padEnd(15)} ${shown} ${String(named ?? '')}`.trimEnd());
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

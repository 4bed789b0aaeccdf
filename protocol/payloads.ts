/**
 * Message payloads (PROTOCOL.md §3): one compiled binary-parser layout per message type for
 * decoding, one writer per type for encoding, and the all-zero response each type starts from.
 * A payload must have exactly its type's layout; anything else is ERR_PAYLOAD (answered with
 * BAD_FORMAT, §8).
 */
import { Parser } from 'binary-parser';
import {
  ACCOUNT_SIZE,
  BATTERY_UNKNOWN,
  FIRMWARE_SIZE,
  GSM_SIGNAL_MAX,
  GSM_SIGNAL_UNKNOWN,
  MAX_BILL_PERIODS,
  MAX_NAME_BYTES,
  MAX_PAYLOAD_SIZE,
  MerchantKind,
  MessageType,
  NONCE_SIZE,
  NoticeReason,
  PowerSource,
  PrinterState,
  RECEIPT_PATTERN,
  RECEIPT_SIZE,
  ResultCode,
  TransactionState,
} from './constants.js';
import { FrameError, FrameErrorCode } from './errors.js';
import { type CharClass, DIGITS, readAscii, writeAscii } from './fields.js';
import { checkUint } from './frame.js';
import type { BillPeriod, MessageMap } from './messages.js';

const U16_MAX = 0xffff;
const U32_MAX = 0xffffffff;

type Fields = Record<string, any>;

interface PayloadCodec<V> {
  /** The layout; every layout ends by saving its end offset so trailing bytes are caught. */
  parser: Parser;
  /** Exact payload size, or null when the layout has variable parts. */
  size: number | null;
  /** Parsed fields (and the payload they came from) → message value; throws ERR_PAYLOAD when a
   *  field breaks its format. */
  build(fields: Fields, payload: Buffer): V;
  encode(value: V): Buffer;
  /** The full layout with every field zero or empty (responses only). */
  empty?(result: ResultCode): V;
}

// ---------------------------------------------------------------------------------------------
// Field checks shared by the layouts

const KNOWN_RESULT = new Set<number>(Object.values(ResultCode));
const KNOWN_REASON = new Set<number>(Object.values(NoticeReason));
const KNOWN_STATE = new Set<number>(Object.values(TransactionState));
const KNOWN_KIND = new Set<number>(Object.values(MerchantKind));
const KNOWN_POWER = new Set<number>(Object.values(PowerSource));
const KNOWN_PRINTER = new Set<number>(Object.values(PrinterState));
const utf8 = new TextDecoder('utf-8', { fatal: true });

function bad(field: string, why: string): FrameError {
  return new FrameError(FrameErrorCode.PAYLOAD, `${field}: ${why}`);
}

function result(value: number): ResultCode {
  if (!KNOWN_RESULT.has(value)) throw bad('result', `unknown result code ${value}`);
  return value as ResultCode;
}

function text(bytes: Buffer, field: string, pattern?: RegExp): string {
  const value = readAscii(bytes);
  if (value === null) throw bad(field, 'not NUL-padded printable ASCII');
  if (pattern !== undefined && !pattern.test(value)) throw bad(field, `${JSON.stringify(value)} has the wrong format`);
  return value;
}

/**
 * The account number at `at`: exactly 10 digits, no padding (§7.3). It is on PAY's hot path, so
 * the layouts only note where it is (`accountAt`) and it is read here straight from the payload,
 * without a Buffer view of its own.
 */
function account(payload: Buffer, at: number): string {
  for (let i = at; i < at + ACCOUNT_SIZE; i++) {
    const byte = payload[i]!;
    if (byte < 0x30 || byte > 0x39) throw bad('account', 'not 10 ASCII digits');
  }
  return payload.toString('latin1', at, at + ACCOUNT_SIZE);
}

/** A receipt in a response: the 18 characters, or empty (all NUL) when the result gave none. */
function optionalReceipt(bytes: Buffer): string {
  const value = text(bytes, 'receipt');
  if (value !== '' && !RECEIPT_PATTERN.test(value)) throw bad('receipt', `${JSON.stringify(value)} has the wrong format`);
  return value;
}

/** A length-prefixed UTF-8 name (§7.2): at most MAX_NAME_BYTES, valid UTF-8. */
function name(bytes: Buffer, length: number, field: string): string {
  if (length > MAX_NAME_BYTES) throw bad(field, `${length} bytes, at most ${MAX_NAME_BYTES}`);
  try {
    return utf8.decode(bytes);
  } catch {
    throw bad(field, 'not UTF-8');
  }
}

function periodList(count: number, periods: Fields[]): BillPeriod[] {
  if (count > MAX_BILL_PERIODS) throw bad('periods', `${count} periods, at most ${MAX_BILL_PERIODS}`);
  return periods.map((p) => ({ period: p.period, amountFen: p.amountFen }));
}

function nameBytes(value: string, field: string): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > MAX_NAME_BYTES) throw new RangeError(`${field} is ${bytes.length} bytes, at most ${MAX_NAME_BYTES}`);
  return bytes;
}

function checkPeriods(periods: BillPeriod[]): void {
  if (periods.length > MAX_BILL_PERIODS) throw new RangeError(`${periods.length} periods, at most ${MAX_BILL_PERIODS}`);
}

/** Builds a payload left to right, checking every value against its field's range. */
class PayloadWriter {
  readonly bytes: Buffer;
  #at = 0;

  constructor(size: number) {
    if (size > MAX_PAYLOAD_SIZE) throw new RangeError(`payload of ${size} bytes exceeds ${MAX_PAYLOAD_SIZE}`);
    // Not zero-filled: every field writes all its bytes, and done() checks that all were written.
    this.bytes = Buffer.allocUnsafe(size);
  }
  u8(value: number, field: string): this {
    checkUint(field, value, 0xff);
    this.bytes[this.#at] = value;
    this.#at += 1;
    return this;
  }
  u16(value: number, field: string): this {
    checkUint(field, value, U16_MAX);
    this.#at = this.bytes.writeUInt16BE(value, this.#at);
    return this;
  }
  u32(value: number, field: string): this {
    checkUint(field, value, U32_MAX);
    this.#at = this.bytes.writeUInt32BE(value, this.#at);
    return this;
  }
  ascii(value: string, width: number, field: string, allowed?: CharClass): this {
    writeAscii(this.bytes, this.#at, value, width, field, allowed);
    this.#at += width;
    return this;
  }
  /** Exactly 10 digits (§7.3). */
  account(value: string): this {
    if (value.length !== ACCOUNT_SIZE) throw new RangeError(`account ${JSON.stringify(value)} is not ${ACCOUNT_SIZE} digits`);
    return this.ascii(value, ACCOUNT_SIZE, 'account', DIGITS);
  }
  /** A receipt (§7.4), or the empty string where a result carries none and `optional` is set. */
  receipt(value: string, optional = false): this {
    if (!(optional && value === '') && !RECEIPT_PATTERN.test(value)) {
      throw new RangeError(`receipt ${JSON.stringify(value)} is not a terminal id and 10 digits`);
    }
    return this.ascii(value, RECEIPT_SIZE, 'receipt');
  }
  periods(periods: BillPeriod[]): this {
    this.u8(periods.length, 'periodCount');
    for (const p of periods) this.u32(p.period, 'period').u32(p.amountFen, 'amountFen');
    return this;
  }
  raw(value: Buffer, field: string, width = value.length): this {
    if (value.length !== width) throw new RangeError(`${field} must be ${width} bytes, not ${value.length}`);
    this.#at += value.copy(this.bytes, this.#at);
    return this;
  }
  done(): Buffer {
    if (this.#at !== this.bytes.length) throw new Error(`payload writer filled ${this.#at} of ${this.bytes.length} bytes`);
    return this.bytes;
  }
}

function layout(): Parser {
  return new Parser().endianness('big');
}

// binary-parser's generated code gives the result object `$parent` and `$root` properties for
// expressions that refer to enclosing structures, then deletes them; the deletes turn every
// result into a slow dictionary object and cost four times the parse itself. No layout here refers
// to an enclosing structure, so each is compiled from binary-parser's own code without those lines.
const CONTEXT_SETUP = 'vars.$parent = null;\nvars.$root = vars;\n';
const CONTEXT_TEARDOWN = 'delete vars.$parent;\ndelete vars.$root;\n';

function compileLean(parser: Parser): void {
  const code = parser.getCode();
  // No formatters or assert functions either: getCode() does not hand out their imports.
  if (!code.includes(CONTEXT_SETUP) || !code.includes(CONTEXT_TEARDOWN) || code.includes('imports')) {
    throw new Error('binary-parser generated unexpected code; check compileLean against its version');
  }
  const lean = code.replace(CONTEXT_SETUP, '').replace(CONTEXT_TEARDOWN, '');
  // The same wrapper Parser.compile() builds around its generated code.
  parser.compiled = new Function('imports', 'TextDecoder', `return function (buffer, constructorFn) { ${lean} };`)(
    [],
    TextDecoder,
  ) as (buffer: Buffer, constructorFn: unknown) => unknown;
}

// ---------------------------------------------------------------------------------------------
// §3.1 SIGN_IN

const signIn: PayloadCodec<MessageMap[0x01]> = {
  parser: layout().buffer('nonce', { length: NONCE_SIZE }).buffer('firmware', { length: FIRMWARE_SIZE }).saveOffset('end'),
  size: NONCE_SIZE + FIRMWARE_SIZE,
  build: (f) => ({ nonce: f.nonce, firmware: text(f.firmware, 'firmware') }),
  encode: (v) => new PayloadWriter(signIn.size!).raw(v.nonce, 'nonce', NONCE_SIZE).ascii(v.firmware, FIRMWARE_SIZE, 'firmware').done(),
};

const SIGN_IN_FIXED = 1 + NONCE_SIZE + 4 + 2 + 4 + 4 + 1 + 1;

const signInResponse: PayloadCodec<MessageMap[0x81]> = {
  parser: layout()
    .uint8('result')
    .buffer('nonce', { length: NONCE_SIZE })
    .uint32('serverTime')
    .uint16('heartbeatSec')
    .uint32('lastSeq')
    .uint32('businessDay')
    .uint8('merchantKind')
    .uint8('nameLength')
    .buffer('merchantName', { length: 'nameLength' })
    .saveOffset('end'),
  size: null,
  build: (f) => {
    if (!KNOWN_KIND.has(f.merchantKind)) throw bad('merchantKind', `unknown merchant kind ${f.merchantKind}`);
    return {
      result: result(f.result),
      nonce: f.nonce,
      serverTime: f.serverTime,
      heartbeatSec: f.heartbeatSec,
      lastSeq: f.lastSeq,
      businessDay: f.businessDay,
      merchantKind: f.merchantKind,
      merchantName: name(f.merchantName, f.nameLength, 'merchantName'),
    };
  },
  encode: (v) => {
    const merchantName = nameBytes(v.merchantName, 'merchantName');
    return new PayloadWriter(SIGN_IN_FIXED + merchantName.length)
      .u8(v.result, 'result')
      .raw(v.nonce, 'nonce', NONCE_SIZE)
      .u32(v.serverTime, 'serverTime')
      .u16(v.heartbeatSec, 'heartbeatSec')
      .u32(v.lastSeq, 'lastSeq')
      .u32(v.businessDay, 'businessDay')
      .u8(v.merchantKind, 'merchantKind')
      .u8(merchantName.length, 'nameLength')
      .raw(merchantName, 'merchantName')
      .done();
  },
  empty: (r) => ({
    result: r,
    nonce: Buffer.alloc(NONCE_SIZE),
    serverTime: 0,
    heartbeatSec: 0,
    lastSeq: 0,
    businessDay: 0,
    merchantKind: MerchantKind.OUTLET,
    merchantName: '',
  }),
};

// ---------------------------------------------------------------------------------------------
// §3.2 HEARTBEAT: the terminal's health; §3.8 SIGN_OUT: an empty request

const HEARTBEAT_SIZE = 4;

/** What is wrong with a health report, as "field: why", or null when every field is in its range. */
function healthProblem(f: Fields): string | null {
  if (f.signal > GSM_SIGNAL_MAX && f.signal !== GSM_SIGNAL_UNKNOWN) return `signal: ${f.signal} is not 0..${GSM_SIGNAL_MAX} or ${GSM_SIGNAL_UNKNOWN}`;
  if (!KNOWN_POWER.has(f.power)) return `power: unknown power source ${f.power}`;
  if (f.battery > 100 && f.battery !== BATTERY_UNKNOWN) return `battery: ${f.battery} is not 0..100 or ${BATTERY_UNKNOWN}`;
  if (!KNOWN_PRINTER.has(f.printer)) return `printer: unknown printer state ${f.printer}`;
  return null;
}

/** A heartbeat from a terminal that knows nothing of its health (every field "unknown"). */
export const HEALTH_UNKNOWN: Readonly<MessageMap[0x02]> = Object.freeze({
  signal: GSM_SIGNAL_UNKNOWN,
  power: PowerSource.UNKNOWN,
  battery: BATTERY_UNKNOWN,
  printer: PrinterState.UNKNOWN,
});

const heartbeat: PayloadCodec<MessageMap[0x02]> = {
  parser: layout().uint8('signal').uint8('power').uint8('battery').uint8('printer').saveOffset('end'),
  size: HEARTBEAT_SIZE,
  build: (f) => {
    const problem = healthProblem(f);
    if (problem !== null) throw new FrameError(FrameErrorCode.PAYLOAD, problem);
    return { signal: f.signal, power: f.power, battery: f.battery, printer: f.printer };
  },
  encode: (v) => {
    const problem = healthProblem(v);
    if (problem !== null) throw new RangeError(problem);
    return new PayloadWriter(HEARTBEAT_SIZE).u8(v.signal, 'signal').u8(v.power, 'power').u8(v.battery, 'battery').u8(v.printer, 'printer').done();
  },
};

const emptyRequest: PayloadCodec<Record<string, never>> = {
  parser: layout().saveOffset('end'),
  size: 0,
  build: () => ({}),
  encode: () => Buffer.alloc(0),
};

const heartbeatResponse: PayloadCodec<MessageMap[0x82]> = {
  parser: layout().uint8('result').uint32('serverTime').saveOffset('end'),
  size: 5,
  build: (f) => ({ result: result(f.result), serverTime: f.serverTime }),
  encode: (v) => new PayloadWriter(5).u8(v.result, 'result').u32(v.serverTime, 'serverTime').done(),
  empty: (r) => ({ result: r, serverTime: 0 }),
};

// ---------------------------------------------------------------------------------------------
// §3.3 INQUIRY

const inquiry: PayloadCodec<MessageMap[0x03]> = {
  parser: layout().saveOffset('accountAt').seek(ACCOUNT_SIZE).saveOffset('end'),
  size: ACCOUNT_SIZE,
  build: (f, payload) => ({ account: account(payload, f.accountAt) }),
  encode: (v) => new PayloadWriter(ACCOUNT_SIZE).account(v.account).done(),
};

const billPeriod = layout().uint32('period').uint32('amountFen');

const inquiryResponse: PayloadCodec<MessageMap[0x83]> = {
  parser: layout()
    .uint8('result')
    .uint32('arrearsFen')
    .uint8('nameLength')
    .buffer('holderName', { length: 'nameLength' })
    .uint8('periodCount')
    .array('periods', { type: billPeriod, length: 'periodCount' })
    .saveOffset('end'),
  size: null,
  build: (f) => ({
    result: result(f.result),
    arrearsFen: f.arrearsFen,
    holderName: name(f.holderName, f.nameLength, 'holderName'),
    periods: periodList(f.periodCount, f.periods),
  }),
  encode: (v) => {
    const holder = nameBytes(v.holderName, 'holderName');
    checkPeriods(v.periods);
    return new PayloadWriter(1 + 4 + 1 + holder.length + 1 + 8 * v.periods.length)
      .u8(v.result, 'result')
      .u32(v.arrearsFen, 'arrearsFen')
      .u8(holder.length, 'nameLength')
      .raw(holder, 'holderName')
      .periods(v.periods)
      .done();
  },
  empty: (r) => ({ result: r, arrearsFen: 0, holderName: '', periods: [] }),
};

// ---------------------------------------------------------------------------------------------
// §3.4 PAY and §3.5 CORRECT (both answered with the transaction response layout)

const pay: PayloadCodec<MessageMap[0x04]> = {
  parser: layout().saveOffset('accountAt').seek(ACCOUNT_SIZE).uint32('amountFen').saveOffset('end'),
  size: ACCOUNT_SIZE + 4,
  build: (f, payload) => ({ account: account(payload, f.accountAt), amountFen: f.amountFen }),
  encode: (v) =>
    new PayloadWriter(pay.size!).account(v.account).u32(v.amountFen, 'amountFen').done(),
};

const correct: PayloadCodec<MessageMap[0x05]> = {
  parser: layout()
    .buffer('receipt', { length: RECEIPT_SIZE })
    .saveOffset('accountAt')
    .seek(ACCOUNT_SIZE)
    .uint32('amountFen')
    .saveOffset('end'),
  size: RECEIPT_SIZE + ACCOUNT_SIZE + 4,
  build: (f, payload) => ({
    receipt: text(f.receipt, 'receipt', RECEIPT_PATTERN),
    account: account(payload, f.accountAt),
    amountFen: f.amountFen,
  }),
  encode: (v) =>
    new PayloadWriter(correct.size!)
      .receipt(v.receipt)
      .account(v.account)
      .u32(v.amountFen, 'amountFen')
      .done(),
};

/** The transaction response up to the holder name: the part every answer has at a fixed place. */
const TXN_FIXED = 1 + RECEIPT_SIZE + 4 + 4 + 4 + 1 + 4 + 1;

const transactionResponse: PayloadCodec<MessageMap[0x84]> = {
  parser: layout()
    .uint8('result')
    .buffer('receipt', { length: RECEIPT_SIZE })
    .uint32('arrearsFen')
    .uint32('floatFen')
    .uint32('businessDay')
    .uint8('flags')
    .uint32('cashHeldFen')
    .uint8('nameLength')
    .buffer('holderName', { length: 'nameLength' })
    .uint8('periodCount')
    .array('periods', { type: billPeriod, length: 'periodCount' })
    .saveOffset('end'),
  size: null,
  build: (f) => ({
    result: result(f.result),
    receipt: optionalReceipt(f.receipt),
    arrearsFen: f.arrearsFen,
    floatFen: f.floatFen,
    businessDay: f.businessDay,
    flags: f.flags,
    cashHeldFen: f.cashHeldFen,
    holderName: name(f.holderName, f.nameLength, 'holderName'),
    periods: periodList(f.periodCount, f.periods),
  }),
  encode: (v) => {
    const holder = nameBytes(v.holderName, 'holderName');
    checkPeriods(v.periods);
    return new PayloadWriter(TXN_FIXED + holder.length + 1 + 8 * v.periods.length)
      .u8(v.result, 'result')
      .receipt(v.receipt, true)
      .u32(v.arrearsFen, 'arrearsFen')
      .u32(v.floatFen, 'floatFen')
      .u32(v.businessDay, 'businessDay')
      .u8(v.flags, 'flags')
      .u32(v.cashHeldFen, 'cashHeldFen')
      .u8(holder.length, 'nameLength')
      .raw(holder, 'holderName')
      .periods(v.periods)
      .done();
  },
  empty: (r) => ({
    result: r,
    receipt: '',
    arrearsFen: 0,
    floatFen: 0,
    businessDay: 0,
    flags: 0,
    cashHeldFen: 0,
    holderName: '',
    periods: [],
  }),
};

// ---------------------------------------------------------------------------------------------
// §3.6 STATUS

const status: PayloadCodec<MessageMap[0x06]> = {
  parser: layout().uint32('querySeq').saveOffset('end'),
  size: 4,
  build: (f) => ({ querySeq: f.querySeq }),
  encode: (v) => new PayloadWriter(4).u32(v.querySeq, 'querySeq').done(),
};

const statusResponse: PayloadCodec<MessageMap[0x86]> = {
  parser: layout()
    .uint8('result')
    .uint8('state')
    .uint8('originalType')
    .uint16('originalLength')
    .buffer('originalPayload', { length: 'originalLength' })
    .saveOffset('end'),
  size: null,
  build: (f) => {
    if (!KNOWN_STATE.has(f.state)) throw bad('state', `unknown transaction state ${f.state}`);
    return { result: result(f.result), state: f.state, originalType: f.originalType, originalPayload: f.originalPayload };
  },
  encode: (v) =>
    new PayloadWriter(5 + v.originalPayload.length)
      .u8(v.result, 'result')
      .u8(v.state, 'state')
      .u8(v.originalType, 'originalType')
      .u16(v.originalPayload.length, 'originalLength')
      .raw(v.originalPayload, 'originalPayload')
      .done(),
  empty: (r) => ({ result: r, state: TransactionState.NOT_FOUND, originalType: 0, originalPayload: Buffer.alloc(0) }),
};

// ---------------------------------------------------------------------------------------------
// §3.7 SETTLE: the request and the response carry the same five figures

const settleFigures = (p: Parser) =>
  p.uint32('businessDay').uint32('payCount').uint32('payFen').uint32('correctCount').uint32('correctFen').saveOffset('end');

type SettleFigures = MessageMap[0x07];
const figures = (f: Fields): SettleFigures => ({
  businessDay: f.businessDay,
  payCount: f.payCount,
  payFen: f.payFen,
  correctCount: f.correctCount,
  correctFen: f.correctFen,
});
const writeFigures = (w: PayloadWriter, v: SettleFigures) =>
  w
    .u32(v.businessDay, 'businessDay')
    .u32(v.payCount, 'payCount')
    .u32(v.payFen, 'payFen')
    .u32(v.correctCount, 'correctCount')
    .u32(v.correctFen, 'correctFen');

const settle: PayloadCodec<MessageMap[0x07]> = {
  parser: settleFigures(layout()),
  size: 20,
  build: figures,
  encode: (v) => writeFigures(new PayloadWriter(20), v).done(),
};

const settleResponse: PayloadCodec<MessageMap[0x87]> = {
  parser: settleFigures(layout().uint8('result')),
  size: 21,
  build: (f) => ({ result: result(f.result), ...figures(f) }),
  encode: (v) => writeFigures(new PayloadWriter(21).u8(v.result, 'result'), v).done(),
  empty: (r) => ({ result: r, businessDay: 0, payCount: 0, payFen: 0, correctCount: 0, correctFen: 0 }),
};

// ---------------------------------------------------------------------------------------------
// §3.8 SIGN_OUT response, §3.9 NOTICE, §3.10 REJECT

const resultOnly: PayloadCodec<{ result: ResultCode }> = {
  parser: layout().uint8('result').saveOffset('end'),
  size: 1,
  build: (f) => ({ result: result(f.result) }),
  encode: (v) => new PayloadWriter(1).u8(v.result, 'result').done(),
  empty: (r) => ({ result: r }),
};

const notice: PayloadCodec<MessageMap[0x8f]> = {
  parser: layout().uint8('reason').uint16('retryAfterSec').saveOffset('end'),
  size: 3,
  build: (f) => {
    if (!KNOWN_REASON.has(f.reason)) throw bad('reason', `unknown notice reason ${f.reason}`);
    return { reason: f.reason, retryAfterSec: f.retryAfterSec };
  },
  encode: (v) => new PayloadWriter(3).u8(v.reason, 'reason').u16(v.retryAfterSec, 'retryAfterSec').done(),
};

// ---------------------------------------------------------------------------------------------

const CODECS: { [T in keyof MessageMap]: PayloadCodec<MessageMap[T]> } = {
  [MessageType.SIGN_IN]: signIn,
  [MessageType.HEARTBEAT]: heartbeat,
  [MessageType.INQUIRY]: inquiry,
  [MessageType.PAY]: pay,
  [MessageType.CORRECT]: correct,
  [MessageType.STATUS]: status,
  [MessageType.SETTLE]: settle,
  [MessageType.SIGN_OUT]: emptyRequest,
  [MessageType.SIGN_IN_RESPONSE]: signInResponse,
  [MessageType.HEARTBEAT_RESPONSE]: heartbeatResponse,
  [MessageType.INQUIRY_RESPONSE]: inquiryResponse,
  [MessageType.PAY_RESPONSE]: transactionResponse,
  [MessageType.CORRECT_RESPONSE]: transactionResponse,
  [MessageType.STATUS_RESPONSE]: statusResponse,
  [MessageType.SETTLE_RESPONSE]: settleResponse,
  [MessageType.SIGN_OUT_RESPONSE]: resultOnly,
  [MessageType.NOTICE]: notice,
  [MessageType.REJECT]: resultOnly,
};

for (const codec of Object.values(CODECS)) compileLean(codec.parser);

function codecOf<T extends keyof MessageMap>(type: T): PayloadCodec<MessageMap[T]> {
  const codec = (CODECS as unknown as Partial<Record<number, PayloadCodec<MessageMap[T]>>>)[type];
  if (codec === undefined) throw new FrameError(FrameErrorCode.TYPE, `unknown message type ${type}`);
  return codec;
}

/** True when §3 defines a payload for this type byte. */
export function isMessageType(type: number): type is keyof MessageMap {
  return Object.hasOwn(CODECS, type);
}

/** The payload of a frame of `type` as its message value; throws FrameError ERR_PAYLOAD. */
export function decodePayload<T extends keyof MessageMap>(type: T, payload: Buffer): MessageMap[T] {
  const codec = codecOf(type);
  if (codec.size !== null && payload.length !== codec.size) {
    throw bad('payload', `${payload.length} bytes where the layout has ${codec.size}`);
  }
  let fields: Fields;
  try {
    fields = codec.parser.parse(payload) as Fields;
  } catch {
    throw bad('payload', 'shorter than its layout');
  }
  if (fields.end !== payload.length) throw bad('payload', `${payload.length} bytes where the layout has ${fields.end}`);
  return codec.build(fields, payload);
}

/** The payload bytes of a message value; throws RangeError when a value does not fit its field. */
export function encodePayload<T extends keyof MessageMap>(type: T, value: MessageMap[T]): Buffer {
  return codecOf(type).encode(value);
}

/**
 * The response of `responseType` with `result` and every other field zero or empty (§3: a
 * response always has its full layout). Handlers fill in what their result provides.
 */
export function emptyResponse<T extends keyof MessageMap>(responseType: T, result: ResultCode): MessageMap[T];
export function emptyResponse(responseType: number, result: ResultCode): unknown;
export function emptyResponse(responseType: number, result: ResultCode): unknown {
  const empty = codecOf(responseType as keyof MessageMap).empty;
  if (empty === undefined) throw new RangeError(`0x${responseType.toString(16)} is not a response with a result`);
  return empty(result);
}

/**
 * Writes the golden vectors (valid/*.json, invalid/*.json) and the annotated walk-through in
 * PROTOCOL.md §10 from fixed keys, nonces and clock values, so every run writes the same bytes.
 * Tests read the committed files, not this script: a codec change that alters a byte shows up
 * as a failing vector, and re-running the generator is a deliberate act reviewed in the diff.
 *
 *   npm run build && node dist/protocol/vectors/generate.js     (from the repository root)
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CRC_SIZE,
  Flag,
  HEADER_SIZE,
  HEALTH_UNKNOWN,
  MAX_SEQ_STEP,
  MessageType,
  NoticeReason,
  PowerSource,
  PrinterState,
  ResultCode,
  RESULT_NAME,
  TRAILER_SIZE,
  TransactionState,
  crc16,
  deriveRefusalKey,
  deriveSessionKey,
  emptyResponse,
  encodeFrame,
  encodePayload,
  formatReceipt,
  maskHolderName,
  MerchantKind,
  TxnFlag,
  type MessageMap,
} from '../index.js';
import type { ForgedVector, InvalidVector, MacKey, ValidVector, VectorKeys } from './format.js';

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write('usage: npm run vectors -- [VECTORS_DIR] [PROTOCOL_MD]   (protocol/vectors, protocol/PROTOCOL.md)\n' +
    'Regenerates the golden vectors and the walk-through of PROTOCOL.md §10.\n');
  process.exit(0);
}
const root = process.argv[2] ?? 'protocol/vectors';
const specPath = process.argv[3] ?? 'protocol/PROTOCOL.md';

// ---------------------------------------------------------------------------------------------
// Key material and the day of the scenario

const bytesOf = (label: string, size: number) => createHash('sha256').update(label).digest().subarray(0, size);

const TERMINAL_ID = 'AC000001';
const terminalKey = bytesOf('aircharge vector terminal key AC000001', 32);
const terminalNonce = bytesOf('aircharge vector terminal nonce', 16);
const gatewayNonce = bytesOf('aircharge vector gateway nonce', 16);
const sessionKey = deriveSessionKey(terminalKey, TERMINAL_ID, terminalNonce, gatewayNonce);
const refusalKey = deriveRefusalKey(terminalKey, TERMINAL_ID, terminalNonce);
const keys: VectorKeys = {
  terminalId: TERMINAL_ID,
  terminalKey: terminalKey.toString('hex'),
  terminalNonce: terminalNonce.toString('hex'),
  gatewayNonce: gatewayNonce.toString('hex'),
  sessionKey: sessionKey.toString('hex'),
  refusalKey: refusalKey.toString('hex'),
};
const KEY_OF: Record<MacKey, Buffer | null> = { terminal: terminalKey, session: sessionKey, refusal: refusalKey, none: null };
const keyOf = (which: MacKey) => KEY_OF[which];

const T0 = 1_795_741_200; // 2026-11-27 09:00:00 +08:00
const BUSINESS_DAY = 20261127;
const ACCOUNT = '3100012345';
const HOLDER = maskHolderName('张小明');
const PERIODS = [
  { period: 202609, amountFen: 4_580 },
  { period: 202610, amountFen: 5_230 },
];
const ARREARS = 9_810;
const FLOAT = 500_000;
const PAID = 5_000;
const PAY_RECEIPT = formatReceipt(TERMINAL_ID, 3);
const OUTLET_NAME = '城东便民超市';
const COLLECTOR_NAME = '李师傅 抄表收费组';
/** What ¥50.00 clears of PERIODS, oldest first. */
const PAID_PERIODS = [
  { period: 202609, amountFen: 4_580 },
  { period: 202610, amountFen: 420 },
];
const CASH_LIMIT = 300_000;
const CORRECT_RECEIPT = formatReceipt(TERMINAL_ID, 4);

const TYPE_NAME = new Map<number, string>(Object.entries(MessageType).map(([name, code]) => [code, name]));

// ---------------------------------------------------------------------------------------------
// Valid vectors

interface Header {
  type: number;
  flags?: number;
  seq: number;
  timestamp: number;
}

const valid: ValidVector[] = [];

/** JSON form of a message value: byte fields as hex strings. */
function jsonOf(value: object): Record<string, unknown> {
  return JSON.parse(JSON.stringify(value, (_key, field) => (field?.type === 'Buffer' ? Buffer.from(field.data).toString('hex') : field)));
}

function add<T extends keyof MessageMap>(
  name: string,
  description: string,
  header: Header & { type: T },
  value: MessageMap[T],
  macKey: MacKey,
  terminalId = TERMINAL_ID,
): Buffer {
  const payload = encodePayload(header.type, value);
  const frame = encodeFrame({ ...header, terminalId }, payload, keyOf(macKey));
  valid.push({
    name: `${String(valid.length + 1).padStart(2, '0')}-${name}`,
    description,
    direction: header.type & 0x80 ? 'gateway-to-terminal' : 'terminal-to-gateway',
    hex: frame.toString('hex'),
    header: {
      version: 1,
      type: header.type,
      typeName: TYPE_NAME.get(header.type)!,
      flags: header.flags ?? 0,
      terminalId,
      seq: header.seq,
      timestamp: header.timestamp,
    },
    payload: jsonOf(value),
    payloadHex: payload.toString('hex'),
    mac: frame.subarray(frame.length - TRAILER_SIZE, frame.length - CRC_SIZE).toString('hex'),
    crc: frame.subarray(frame.length - CRC_SIZE).toString('hex'),
    macKey,
    keys,
  });
  return frame;
}

const { SIGN_IN, HEARTBEAT, INQUIRY, PAY, CORRECT, STATUS, SETTLE, SIGN_OUT } = MessageType;
const R = ResultCode;

add('sign-in-request', 'SIGN_IN, the first frame after provisioning (seq 1), MACed with the terminal key.', { type: SIGN_IN, seq: 1, timestamp: T0 }, { nonce: terminalNonce, firmware: 'FW1.4.2' }, 'terminal');
add(
  'sign-in-response-approved',
  'APPROVED: the gateway nonce completes the session key; this response is the first frame MACed with it.',
  { type: MessageType.SIGN_IN_RESPONSE, seq: 1, timestamp: T0 + 1 },
  {
    result: R.APPROVED,
    nonce: gatewayNonce,
    serverTime: T0 + 1,
    heartbeatSec: 60,
    lastSeq: 1,
    businessDay: BUSINESS_DAY,
    merchantKind: MerchantKind.OUTLET,
    merchantName: OUTLET_NAME,
  },
  'session',
);
add('inquiry-request', 'INQUIRY for one account.', { type: INQUIRY, seq: 2, timestamp: T0 + 20 }, { account: ACCOUNT }, 'session');
add(
  'inquiry-response-approved',
  'Arrears, the masked holder name (UTF-8) and the unpaid bill periods.',
  { type: MessageType.INQUIRY_RESPONSE, seq: 2, timestamp: T0 + 21 },
  { result: R.APPROVED, arrearsFen: ARREARS, holderName: HOLDER, periods: PERIODS },
  'session',
);
add('pay-request', 'PAY ¥50.00 towards the arrears.', { type: PAY, seq: 3, timestamp: T0 + 40 }, { account: ACCOUNT, amountFen: PAID }, 'session');
const payApproved = {
  result: R.APPROVED,
  receipt: PAY_RECEIPT,
  arrearsFen: ARREARS - PAID,
  floatFen: FLOAT - PAID,
  businessDay: BUSINESS_DAY,
  flags: 0,
  cashHeldFen: 0,
  holderName: HOLDER,
  periods: PAID_PERIODS,
};
add('pay-response-approved', 'APPROVED: the receipt, arrears left, merchant float left, and for the printed receipt the masked holder name and the bill periods paid.', { type: MessageType.PAY_RESPONSE, seq: 3, timestamp: T0 + 41 }, payApproved, 'session');
add(
  'correct-request',
  'CORRECT the payment above: its receipt, account and amount must match it exactly.',
  { type: CORRECT, seq: 4, timestamp: T0 + 120 },
  { receipt: PAY_RECEIPT, account: ACCOUNT, amountFen: PAID },
  'session',
);
add(
  'correct-response-approved',
  "APPROVED: the correction's own receipt; arrears restored, float credited back; the periods are the ones restored.",
  { type: MessageType.CORRECT_RESPONSE, seq: 4, timestamp: T0 + 121 },
  {
    result: R.APPROVED,
    receipt: CORRECT_RECEIPT,
    arrearsFen: ARREARS,
    floatFen: FLOAT,
    businessDay: BUSINESS_DAY,
    flags: 0,
    cashHeldFen: 0,
    holderName: HOLDER,
    periods: PAID_PERIODS,
  },
  'session',
);
add(
  'settle-request',
  "SETTLE: the terminal's counts and totals for the business day.",
  { type: SETTLE, seq: 5, timestamp: T0 + 36_000 },
  { businessDay: BUSINESS_DAY, payCount: 1, payFen: PAID, correctCount: 1, correctFen: PAID },
  'session',
);
add(
  'settle-response-approved',
  "APPROVED: balanced; the gateway's figures are the same.",
  { type: MessageType.SETTLE_RESPONSE, seq: 5, timestamp: T0 + 36_001 },
  { result: R.APPROVED, businessDay: BUSINESS_DAY, payCount: 1, payFen: PAID, correctCount: 1, correctFen: PAID },
  'session',
);
add(
  'heartbeat-request',
  "HEARTBEAT with the terminal's health: GSM signal 18 (AT+CSQ, about -77 dBm), on mains, battery 100%, printer OK.",
  { type: HEARTBEAT, seq: 6, timestamp: T0 + 36_060 },
  { signal: 18, power: PowerSource.MAINS, battery: 100, printer: PrinterState.OK },
  'session',
);
add('heartbeat-response', 'APPROVED with the server clock.', { type: MessageType.HEARTBEAT_RESPONSE, seq: 6, timestamp: T0 + 36_060 }, { result: R.APPROVED, serverTime: T0 + 36_060 }, 'session');
add('status-request', 'STATUS of the PAY sent with seq 3 (a terminal that lost its response).', { type: STATUS, seq: 7, timestamp: T0 + 36_100 }, { querySeq: 3 }, 'session');
add(
  'status-response-answered',
  'ANSWERED: the stored PAY response payload, byte for byte.',
  { type: MessageType.STATUS_RESPONSE, seq: 7, timestamp: T0 + 36_101 },
  { result: R.APPROVED, state: TransactionState.ANSWERED, originalType: MessageType.PAY_RESPONSE, originalPayload: encodePayload(MessageType.PAY_RESPONSE, payApproved) },
  'session',
);
add('sign-out-request', 'SIGN_OUT: empty payload.', { type: SIGN_OUT, seq: 8, timestamp: T0 + 36_200 }, {}, 'session');
add('sign-out-response', 'APPROVED; the gateway then closes the connection.', { type: MessageType.SIGN_OUT_RESPONSE, seq: 8, timestamp: T0 + 36_200 }, { result: R.APPROVED }, 'session');

// Variants: other results, retransmission, gateway-initiated frames.
add(
  'pay-request-retransmitted',
  'The PAY of seq 3 sent again after its response was lost: same seq and payload, RETRANSMIT flag, fresh timestamp.',
  { type: PAY, flags: Flag.RETRANSMIT, seq: 3, timestamp: T0 + 70 },
  { account: ACCOUNT, amountFen: PAID },
  'session',
);
add(
  'sign-in-response-unknown-terminal',
  'Sign-in refused before its MAC verified (unknown id, or not its key; a disabled terminal looks the same): all-zero MAC (advisory).',
  { type: MessageType.SIGN_IN_RESPONSE, seq: 1, timestamp: T0 + 1 },
  emptyResponse(MessageType.SIGN_IN_RESPONSE, R.UNKNOWN_TERMINAL),
  'none',
);
add(
  'sign-in-response-replay',
  'REPLAY: the sign-in seq was not above the last accepted one; lastSeq tells the terminal where to continue. ' +
    'MACed with the refusal key (the request MAC verified), so the terminal can believe lastSeq.',
  { type: MessageType.SIGN_IN_RESPONSE, seq: 1, timestamp: T0 + 1 },
  { ...emptyResponse(MessageType.SIGN_IN_RESPONSE, R.REPLAY), lastSeq: 41 },
  'refusal',
);
add(
  'sign-in-response-clock-skew',
  'CLOCK_SKEW: the terminal clock is outside the window; serverTime lets it correct. MACed with the refusal key.',
  { type: MessageType.SIGN_IN_RESPONSE, seq: 1, timestamp: T0 + 1 },
  { ...emptyResponse(MessageType.SIGN_IN_RESPONSE, R.CLOCK_SKEW), serverTime: T0 + 1 },
  'refusal',
);
add(
  'inquiry-response-unknown-account',
  'UNKNOWN_ACCOUNT: the full layout with every other field empty.',
  { type: MessageType.INQUIRY_RESPONSE, seq: 2, timestamp: T0 + 21 },
  emptyResponse(MessageType.INQUIRY_RESPONSE, R.UNKNOWN_ACCOUNT),
  'session',
);
add(
  'pay-response-float-short',
  'FLOAT_SHORT: declined, nothing applied; floatFen is what the merchant has left.',
  { type: MessageType.PAY_RESPONSE, seq: 3, timestamp: T0 + 41 },
  { ...emptyResponse(MessageType.PAY_RESPONSE, R.FLOAT_SHORT), floatFen: 3_000 },
  'session',
);
add(
  'pay-response-overpayment',
  'OVERPAYMENT: declined; arrearsFen is what is owed.',
  { type: MessageType.PAY_RESPONSE, seq: 3, timestamp: T0 + 41 },
  { ...emptyResponse(MessageType.PAY_RESPONSE, R.OVERPAYMENT), arrearsFen: ARREARS },
  'session',
);
add(
  'pay-response-bad-mac',
  'BAD_MAC: the gateway would not authenticate the request, so it does not MAC its answer.',
  { type: MessageType.PAY_RESPONSE, seq: 3, timestamp: T0 + 41 },
  emptyResponse(MessageType.PAY_RESPONSE, R.BAD_MAC),
  'none',
);
add(
  'correct-response-already-corrected',
  'ALREADY_CORRECTED: a second correction of the same receipt.',
  { type: MessageType.CORRECT_RESPONSE, seq: 9, timestamp: T0 + 200 },
  emptyResponse(MessageType.CORRECT_RESPONSE, R.ALREADY_CORRECTED),
  'session',
);
add(
  'status-response-not-found',
  'NOT_FOUND: no PAY or CORRECT with that seq reached the gateway; the terminal may send it again as new.',
  { type: MessageType.STATUS_RESPONSE, seq: 7, timestamp: T0 + 36_101 },
  emptyResponse(MessageType.STATUS_RESPONSE, R.APPROVED),
  'session',
);
add(
  'settle-response-not-balanced',
  "NOT_BALANCED: the gateway's own figures for the day follow the result.",
  { type: MessageType.SETTLE_RESPONSE, seq: 5, timestamp: T0 + 36_001 },
  { result: R.NOT_BALANCED, businessDay: BUSINESS_DAY, payCount: 2, payFen: 8_000, correctCount: 1, correctFen: PAID },
  'session',
);
add(
  'notice-idle-timeout',
  'NOTICE (seq 0) before the gateway closes an idle session: MACed with the session key.',
  { type: MessageType.NOTICE, seq: 0, timestamp: T0 + 36_400 },
  { reason: NoticeReason.IDLE_TIMEOUT, retryAfterSec: 0 },
  'session',
);
add(
  'notice-shutting-down-no-session',
  'NOTICE SHUTTING_DOWN on a connection with no session: zero MAC, terminal id 00000000; reconnect after 1 s (§3.9).',
  { type: MessageType.NOTICE, seq: 0, timestamp: T0 + 36_400 },
  { reason: NoticeReason.SHUTTING_DOWN, retryAfterSec: 1 },
  'none',
  '00000000',
);
add(
  'notice-terminal-disabled',
  'NOTICE (seq 0) when an operator disables a connected terminal: MACed with the session key; do not sign in again for 600 s.',
  { type: MessageType.NOTICE, seq: 0, timestamp: T0 + 36_500 },
  { reason: NoticeReason.TERMINAL_DISABLED, retryAfterSec: 600 },
  'session',
);
add(
  'reject-unsupported-type',
  "REJECT of a well-framed request of unknown type 0x09: echoes its seq; zero MAC, since that request's MAC was never checked.",
  { type: MessageType.REJECT, seq: 10, timestamp: T0 + 300 },
  { result: R.UNSUPPORTED_TYPE },
  'none',
);
add(
  'sign-in-response-seq-out-of-range',
  `SEQ_OUT_OF_RANGE: the sign-in seq is more than ${MAX_SEQ_STEP} above the mark (§6.1); lastSeq is the mark, and the terminal continues right above it. MACed with the refusal key.`,
  { type: MessageType.SIGN_IN_RESPONSE, seq: 3_000_000_000, timestamp: T0 + 1 },
  { ...emptyResponse(MessageType.SIGN_IN_RESPONSE, R.SEQ_OUT_OF_RANGE), lastSeq: 41 },
  'refusal',
);
add(
  'sign-in-response-terminal-disabled',
  'TERMINAL_DISABLED, told only once the request MAC verified, and MACed with the refusal key: the terminal stops for 10 minutes on its word.',
  { type: MessageType.SIGN_IN_RESPONSE, seq: 42, timestamp: T0 + 1 },
  emptyResponse(MessageType.SIGN_IN_RESPONSE, R.TERMINAL_DISABLED),
  'refusal',
);

// Issue 11 (biller-http): appended so the vectors before keep their numbers.
add(
  'pay-response-biller-unavailable',
  'BILLER_UNAVAILABLE: the billing system cannot be reached and the gateway declines; nothing applied.',
  { type: MessageType.PAY_RESPONSE, seq: 3, timestamp: T0 + 41 },
  emptyResponse(MessageType.PAY_RESPONSE, R.BILLER_UNAVAILABLE),
  'session',
);
add(
  'pay-response-approved-queued',
  'APPROVED while the billing system is down (policy accept): arrearsFen 0xFFFFFFFF, the balance to follow (§9.8).',
  { type: MessageType.PAY_RESPONSE, seq: 3, timestamp: T0 + 41 },
  { ...payApproved, arrearsFen: 0xffffffff },
  'session',
);

// ---------------------------------------------------------------------------------------------
// Forged vectors: what anyone on the carrier's network can send, and the terminal must not believe

const forged: ForgedVector[] = [];

function forge<T extends keyof MessageMap>(
  name: string,
  description: string,
  header: Header & { type: T },
  value: MessageMap[T],
  mac: Buffer | 'zero',
  terminal: string,
  rule: string,
): void {
  const payload = encodePayload(header.type, value);
  const frame = encodeFrame({ ...header, terminalId: TERMINAL_ID }, payload, mac === 'zero' ? null : mac);
  forged.push({
    name,
    description,
    hex: frame.toString('hex'),
    header: { version: 1, type: header.type, typeName: TYPE_NAME.get(header.type)!, flags: header.flags ?? 0, terminalId: TERMINAL_ID, seq: header.seq, timestamp: header.timestamp },
    payload: jsonOf(value),
    terminal,
    rule,
    keys,
  });
}

/** The refusal key of a sign-in made earlier with another nonce: what a recorded refusal carries. */
const oldRefusalKey = deriveRefusalKey(terminalKey, TERMINAL_ID, bytesOf('aircharge vector earlier terminal nonce', 16));

forge(
  'pay-response-float-short-zero-mac',
  'A FLOAT_SHORT decline to the PAY of seq 3 with an all-zero MAC, sent in place of its real APPROVED answer.',
  { type: MessageType.PAY_RESPONSE, seq: 3, timestamp: T0 + 41 },
  { ...emptyResponse(MessageType.PAY_RESPONSE, R.FLOAT_SHORT), floatFen: 0 },
  'zero',
  'Not an answer: keep the PAY in flash, retransmit it with the same seq (then STATUS); never record it declined.',
  '§5.3, §9.1',
);
forge(
  'correct-response-already-corrected-zero-mac',
  'ALREADY_CORRECTED to the CORRECT of seq 4 with an all-zero MAC: the reversal did not happen.',
  { type: MessageType.CORRECT_RESPONSE, seq: 4, timestamp: T0 + 121 },
  emptyResponse(MessageType.CORRECT_RESPONSE, R.ALREADY_CORRECTED),
  'zero',
  'Not an answer: keep the CORRECT in flash and retransmit it with the same seq.',
  '§5.3, §9.4',
);
forge(
  'notice-terminal-disabled-garbage-mac',
  'NOTICE TERMINAL_DISABLED, retryAfterSec 65535, MACed under a key that is none of the session\'s (a forger\'s guess).',
  { type: MessageType.NOTICE, seq: 0, timestamp: T0 + 36_500 },
  { reason: NoticeReason.TERMINAL_DISABLED, retryAfterSec: 65_535 },
  Buffer.alloc(32, 0x5a),
  'An unannounced drop: reconnect after at most 60 s; do not stop taking payments.',
  '§9.5',
);
forge(
  'sign-in-response-replay-zero-mac',
  'REPLAY to a SIGN_IN with lastSeq 4294967294 and an all-zero MAC: followed, it would use up every number the terminal has.',
  { type: MessageType.SIGN_IN_RESPONSE, seq: 1, timestamp: T0 + 1 },
  { ...emptyResponse(MessageType.SIGN_IN_RESPONSE, R.REPLAY), lastSeq: 0xfffffffe },
  'zero',
  'Take neither lastSeq nor anything else from it: sign in again after a backoff with the next seq of its own counter.',
  '§9.7',
);
forge(
  'sign-in-response-clock-skew-zero-mac',
  'CLOCK_SKEW to a SIGN_IN with a serverTime 50 years ahead and an all-zero MAC.',
  { type: MessageType.SIGN_IN_RESPONSE, seq: 1, timestamp: T0 + 1 },
  { ...emptyResponse(MessageType.SIGN_IN_RESPONSE, R.CLOCK_SKEW), serverTime: T0 + 50 * 365 * 86_400 },
  'zero',
  'Leave the clock alone: sign in again after a backoff.',
  '§9.7',
);
forge(
  'sign-in-response-replay-recorded',
  'A REPLAY the gateway really sent, MACed with the refusal key of an earlier sign-in (another terminal nonce), replayed now: it does not verify under this sign-in\'s refusal key.',
  { type: MessageType.SIGN_IN_RESPONSE, seq: 1, timestamp: T0 + 1 },
  { ...emptyResponse(MessageType.SIGN_IN_RESPONSE, R.REPLAY), lastSeq: 4_000_000 },
  oldRefusalKey,
  'As any unauthenticated refusal: take nothing from it, sign in again after a backoff.',
  '§5.4, §9.7',
);

// Collectors, float warnings and daily caps (issue 12).
add(
  'sign-in-response-approved-collector',
  'APPROVED sign-in of a collector\'s terminal: merchantKind COLLECTOR and the name printed on its receipts.',
  { type: MessageType.SIGN_IN_RESPONSE, seq: 1, timestamp: T0 + 1 },
  {
    result: R.APPROVED,
    nonce: gatewayNonce,
    serverTime: T0 + 1,
    heartbeatSec: 60,
    lastSeq: 1,
    businessDay: BUSINESS_DAY,
    merchantKind: MerchantKind.COLLECTOR,
    merchantName: COLLECTOR_NAME,
  },
  'session',
);
add(
  'pay-response-approved-collector',
  'APPROVED at a collector: floatFen 0, cashHeldFen the cash he now holds, CASH_NEAR_LIMIT set (at least 90% of his ¥3,000 limit).',
  { type: MessageType.PAY_RESPONSE, seq: 3, timestamp: T0 + 41 },
  { ...payApproved, floatFen: 0, flags: TxnFlag.CASH_NEAR_LIMIT, cashHeldFen: 275_000 },
  'session',
);
add(
  'pay-response-approved-low-float',
  'APPROVED at an outlet whose float is now in the low-float warning state: LOW_FLOAT set.',
  { type: MessageType.PAY_RESPONSE, seq: 3, timestamp: T0 + 41 },
  { ...payApproved, floatFen: 42_000, flags: TxnFlag.LOW_FLOAT },
  'session',
);
add(
  'pay-response-cash-limit',
  'CASH_LIMIT: the collector would hold more than his limit; cashHeldFen is what he holds now. Nothing applied.',
  { type: MessageType.PAY_RESPONSE, seq: 3, timestamp: T0 + 41 },
  { ...emptyResponse(MessageType.PAY_RESPONSE, R.CASH_LIMIT), cashHeldFen: CASH_LIMIT - 2_000 },
  'session',
);
add(
  'pay-response-terminal-day-limit',
  "TERMINAL_DAY_LIMIT: the terminal's daily count or amount cap for the business day is reached. Nothing applied.",
  { type: MessageType.PAY_RESPONSE, seq: 3, timestamp: T0 + 41 },
  emptyResponse(MessageType.PAY_RESPONSE, R.TERMINAL_DAY_LIMIT),
  'session',
);
add(
  'pay-response-merchant-day-limit',
  "MERCHANT_DAY_LIMIT: the merchant's daily count or amount cap (all its terminals together) is reached. Nothing applied.",
  { type: MessageType.PAY_RESPONSE, seq: 3, timestamp: T0 + 41 },
  emptyResponse(MessageType.PAY_RESPONSE, R.MERCHANT_DAY_LIMIT),
  'session',
);

// Terminal health in the heartbeat (issue 14).
add(
  'heartbeat-request-weak-on-battery-paper-out',
  'HEARTBEAT from a terminal in trouble: GSM signal 6 (weak, about -101 dBm), running on battery at 23%, printer out of paper.',
  { type: HEARTBEAT, seq: 6, timestamp: T0 + 36_060 },
  { signal: 6, power: PowerSource.BATTERY, battery: 23, printer: PrinterState.PAPER_OUT },
  'session',
);
add(
  'heartbeat-request-health-unknown',
  'HEARTBEAT from a terminal that cannot read its health: signal 99, power 0, battery 255, printer 0 (each field\'s "unknown").',
  { type: HEARTBEAT, seq: 6, timestamp: T0 + 36_060 },
  { ...HEALTH_UNKNOWN },
  'session',
);

// ---------------------------------------------------------------------------------------------
// Invalid vectors: bytes and what each must produce

const invalid: InvalidVector[] = [];
const validHex = (suffix: string) => Buffer.from(valid.find((v) => v.name.endsWith(suffix))!.hex, 'hex');

function withCrc(frame: Buffer): Buffer {
  const fixed = Buffer.from(frame);
  fixed.writeUInt16BE(crc16(fixed, 0, fixed.length - CRC_SIZE), fixed.length - CRC_SIZE);
  return fixed;
}

function frameError(name: string, description: string, bytes: Buffer, error: string, fatal: boolean, extra: Partial<InvalidVector> = {}): void {
  invalid.push({
    name,
    description,
    hex: bytes.toString('hex'),
    error,
    stage: 'frame',
    fatal,
    decoder: [{ error, fatal }],
    buffered: 0,
    recovers: !fatal,
    ...extra,
  });
}

function afterFrame(name: string, description: string, bytes: Buffer, error: 'ERR_PAYLOAD' | 'ERR_MAC', type: number, seq: number, macKey: MacKey = 'session'): void {
  invalid.push({
    name,
    description,
    hex: bytes.toString('hex'),
    error,
    stage: error === 'ERR_PAYLOAD' ? 'payload' : 'mac',
    fatal: false,
    decoder: [{ frame: { type, seq } }],
    buffered: 0,
    recovers: true,
    ...(error === 'ERR_MAC' ? { keys, macKey } : {}),
  });
}

const payRequest = validHex('-pay-request');
const header = (type: number, seq: number, timestamp = T0 + 300) => ({ type, terminalId: TERMINAL_ID, seq, timestamp });

frameError('bad-sync', 'Bytes that do not start with A5 5A: one ERR_SYNC for the run, then the decoder waits for the next sync.', Buffer.from('00112233445566778899', 'hex'), 'ERR_SYNC', false);
frameError(
  'bad-sync-half-marker',
  'A5 followed by something other than 5A is not a sync.',
  Buffer.from('a5a5005a0102', 'hex'),
  'ERR_SYNC',
  false,
);
{
  const bytes = Buffer.from(payRequest);
  bytes.writeUInt16BE(1025, 3);
  frameError('oversize-length', 'Length field 1025 (> 1024): fatal before any byte of the body is held.', bytes, 'ERR_LENGTH', true);
}
{
  const bytes = Buffer.from(payRequest);
  bytes.writeUInt16BE(32, 3);
  frameError('undersize-length', 'Length field 32 (< 33, smaller than header and trailer): fatal.', bytes, 'ERR_LENGTH', true);
}
{
  const bytes = Buffer.from(payRequest);
  bytes[2] = 0x02;
  frameError('unknown-version', 'Version 0x02: fatal, this gateway speaks version 1 only.', bytes, 'ERR_VERSION', true);
}
frameError(
  'truncated',
  'The first 30 bytes of a 47-byte frame: the decoder holds them and waits; decodeFrame reports ERR_TRUNCATED. ' +
    'Bytes of a next frame complete the announced length, fail the CRC, and the resync finds that frame.',
  payRequest.subarray(0, 30),
  'ERR_TRUNCATED',
  false,
  { decoder: [], buffered: 30 },
);
{
  const bytes = Buffer.from(payRequest);
  bytes[bytes.length - 1]! ^= 0x01;
  frameError('bad-crc', 'Last CRC byte flipped: ERR_CRC, resync one byte after this frame\'s sync.', bytes, 'ERR_CRC', false);
}
{
  const bytes = Buffer.from(payRequest);
  bytes[HEADER_SIZE + 12]! ^= 0x40; // a bit of amountFen, as a line error would flip it
  frameError('bad-crc-corrupted-amount', 'One bit of the amount flipped on the line: the CRC catches it.', bytes, 'ERR_CRC', false);
}
{
  const bytes = encodeFrame(header(0x09, 10), Buffer.alloc(0), sessionKey);
  frameError('unknown-type', 'Type 0x09 with a good CRC: answered with REJECT UNSUPPORTED_TYPE echoing seq 10.', bytes, 'ERR_TYPE', false, {
    decoder: [{ error: 'ERR_TYPE', fatal: false, header: { type: 0x09, terminalId: TERMINAL_ID, seq: 10 } }],
  });
}
{
  const bytes = Buffer.from(payRequest);
  bytes.write('ac', 7, 'latin1'); // lower case: not an id character
  frameError('bad-terminal-id', 'PAY whose terminal id is "ac000001" (CRC good): no answer can be addressed to it; skipped, counted as a bad frame.',
    withCrc(bytes), 'ERR_TERMINAL_ID', false);
}
{
  const bytes = Buffer.from(payRequest);
  const macAt = bytes.length - TRAILER_SIZE;
  bytes[macAt]! ^= 0xff;
  afterFrame('bad-mac', 'PAY with one MAC byte altered (CRC recomputed, so only the MAC can tell).', withCrc(bytes), 'ERR_MAC', PAY, 3);
}
afterFrame(
  'bad-mac-terminal-key',
  'PAY MACed with the terminal key instead of the session key.',
  encodeFrame(header(PAY, 11), encodePayload(PAY, { account: ACCOUNT, amountFen: PAID }), terminalKey),
  'ERR_MAC',
  PAY,
  11,
);
const badPayload = (name: string, description: string, type: number, payload: Buffer, seq: number) =>
  afterFrame(name, description, encodeFrame(header(type, seq), payload, sessionKey), 'ERR_PAYLOAD', type, seq);
badPayload('bad-payload-pay-short', 'PAY payload of 13 bytes (its layout has 14).', PAY, Buffer.concat([Buffer.from(ACCOUNT), Buffer.alloc(3)]), 12);
badPayload('bad-payload-pay-long', 'PAY payload of 15 bytes.', PAY, Buffer.concat([Buffer.from(ACCOUNT), Buffer.alloc(5)]), 13);
badPayload('bad-payload-account-letter', 'Account number with a letter in it.', PAY, Buffer.concat([Buffer.from('31000123A5'), Buffer.from('00001388', 'hex')]), 14);
badPayload('bad-payload-heartbeat-body', 'HEARTBEAT with a 1-byte payload (its layout is 4 bytes).', HEARTBEAT, Buffer.from([0]), 15);
badPayload('bad-payload-heartbeat-empty', 'HEARTBEAT with an empty payload (the layout before the health fields).', HEARTBEAT, Buffer.alloc(0), 15);
badPayload('bad-payload-heartbeat-signal', 'HEARTBEAT with signal 40: neither 0..31 nor 99.', HEARTBEAT, Buffer.from([40, 1, 100, 1]), 15);
badPayload('bad-payload-heartbeat-printer', 'HEARTBEAT with printer state 9, not in the table.', HEARTBEAT, Buffer.from([18, 1, 100, 9]), 15);
badPayload(
  'bad-payload-firmware',
  'SIGN_IN firmware with a non-ASCII byte.',
  SIGN_IN,
  Buffer.concat([terminalNonce, Buffer.from('46573100ff000000', 'hex')]),
  16,
);
badPayload(
  'bad-payload-correct-receipt',
  'CORRECT whose receipt is not a terminal id and 10 digits.',
  CORRECT,
  Buffer.concat([Buffer.from('AC00000100000000X3'), Buffer.from(ACCOUNT), Buffer.from('00001388', 'hex')]),
  17,
);
badPayload(
  'bad-payload-name-too-long',
  'INQUIRY response with nameLength 61 (at most 60).',
  MessageType.INQUIRY_RESPONSE,
  Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 61]), Buffer.alloc(61, 0x41), Buffer.from([0])]),
  18,
);
badPayload(
  'bad-payload-inquiry-truncated-periods',
  'INQUIRY response announcing 2 bill periods but carrying 1.',
  MessageType.INQUIRY_RESPONSE,
  Buffer.from('00' + '00002652' + '00' + '02' + '00031771' + '000011e4', 'hex'),
  19,
);
badPayload('bad-payload-unknown-result', 'PAY response with result 0x7F, not in the result table.', MessageType.PAY_RESPONSE, Buffer.concat([Buffer.from([0x7f]), Buffer.alloc(37)]), 20);

// ---------------------------------------------------------------------------------------------
// Walk-through for PROTOCOL.md §10

const WALK = ['sign-in-request', 'sign-in-response-approved', 'inquiry-request', 'inquiry-response-approved', 'pay-request', 'pay-response-approved', 'correct-request', 'correct-response-approved', 'settle-request', 'settle-response-approved'];

function hexOf(bytes: Buffer): string {
  return (bytes.toString('hex').match(/../g) ?? []).join(' ');
}

/** 16 bytes a line, each line led by its offset in hex (as `xxd` and firmware debuggers show it). */
function hexDump(bytes: Buffer): string[] {
  const lines: string[] = [];
  for (let at = 0; at < bytes.length; at += 16) {
    lines.push(`${at.toString(16).padStart(4, '0')}  ${hexOf(bytes.subarray(at, at + 16))}`);
  }
  return lines;
}

function nameFields(field: string, value: string): Array<[string, number, string]> {
  const size = Buffer.byteLength(value);
  return [['nameLength', 1, String(size)], [field, size, `${JSON.stringify(value)} (UTF-8)`]];
}

function periodFields(periods: Array<{ period: number; amountFen: number }>): Array<[string, number, string]> {
  return [
    ['periodCount', 1, String(periods.length)],
    ...periods.flatMap((period, i): Array<[string, number, string]> => [
      [`periods[${i}].period`, 4, String(period.period)],
      [`periods[${i}].amountFen`, 4, `${period.amountFen} fen`],
    ]),
  ];
}

/** (field, size, shown value) of a payload, in wire order. */
function payloadFields(vector: ValidVector): Array<[string, number, string]> {
  const p = vector.payload as Record<string, any>;
  const result: [string, number, string] = ['result', 1, `${p.result} ${RESULT_NAME.get(p.result as number)}`];
  switch (vector.header.type) {
    case SIGN_IN:
      return [['nonce', 16, 'terminal nonce'], ['firmware', 8, JSON.stringify(p.firmware)]];
    case MessageType.SIGN_IN_RESPONSE:
      return [
        result,
        ['nonce', 16, 'gateway nonce'],
        ['serverTime', 4, String(p.serverTime)],
        ['heartbeatSec', 2, String(p.heartbeatSec)],
        ['lastSeq', 4, String(p.lastSeq)],
        ['businessDay', 4, String(p.businessDay)],
        ['merchantKind', 1, p.merchantKind === 1 ? '1 COLLECTOR' : '0 OUTLET'],
        ...nameFields('merchantName', p.merchantName as string),
      ];
    case INQUIRY:
      return [['account', 10, JSON.stringify(p.account)]];
    case MessageType.INQUIRY_RESPONSE:
      return [result, ['arrearsFen', 4, `${p.arrearsFen} fen`], ...nameFields('holderName', p.holderName as string), ...periodFields(p.periods)];
    case PAY:
      return [['account', 10, JSON.stringify(p.account)], ['amountFen', 4, `${p.amountFen} fen`]];
    case CORRECT:
      return [['receipt', 18, JSON.stringify(p.receipt)], ['account', 10, JSON.stringify(p.account)], ['amountFen', 4, `${p.amountFen} fen`]];
    case MessageType.PAY_RESPONSE:
    case MessageType.CORRECT_RESPONSE:
      return [
        result,
        ['receipt', 18, JSON.stringify(p.receipt)],
        ['arrearsFen', 4, `${p.arrearsFen} fen`],
        ['floatFen', 4, `${p.floatFen} fen`],
        ['businessDay', 4, String(p.businessDay)],
        ['flags', 1, String(p.flags)],
        ['cashHeldFen', 4, `${p.cashHeldFen} fen`],
        ...nameFields('holderName', p.holderName as string),
        ...periodFields(p.periods),
      ];
    case SETTLE:
    case MessageType.SETTLE_RESPONSE:
      return [
        ...(vector.header.type === SETTLE ? [] : [result]),
        ['businessDay', 4, String(p.businessDay)],
        ['payCount', 4, String(p.payCount)],
        ['payFen', 4, `${p.payFen} fen`],
        ['correctCount', 4, String(p.correctCount)],
        ['correctFen', 4, `${p.correctFen} fen`],
      ];
    default:
      throw new Error(`no walk-through layout for type ${vector.header.type}`);
  }
}

function walkthrough(): string {
  const lines: string[] = [
    `Terminal \`${TERMINAL_ID}\`, terminal key Kt = \`${keys.terminalKey}\`,`,
    `terminal nonce \`${keys.terminalNonce}\`, gateway nonce \`${keys.gatewayNonce}\`,`,
    `so Ks = \`${keys.sessionKey}\` (§5.2).`,
    'Every frame below is `protocol/vectors/valid/<name>.json`; the generator wrote this section from them.',
    '',
  ];
  for (const name of WALK) {
    const vector = valid.find((v) => v.name.endsWith(`-${name}`))!;
    const bytes = Buffer.from(vector.hex, 'hex');
    const h = vector.header;
    const rows: Array<[string, number, string]> = [
      ['sync', 2, 'A5 5A'],
      ['version', 1, '1'],
      ['length', 2, `${bytes.length} bytes`],
      ['type', 1, `0x${h.type.toString(16).padStart(2, '0')} ${h.typeName}`],
      ['flags', 1, h.flags === 0 ? 'none' : 'RETRANSMIT'],
      ['terminalId', 8, JSON.stringify(h.terminalId)],
      ['seq', 4, String(h.seq)],
      ['timestamp', 4, `${h.timestamp} (${new Date(h.timestamp * 1000).toISOString().replace('.000Z', 'Z')})`],
      ...payloadFields(vector),
      ['MAC', 8, vector.macKey === 'terminal' ? 'HMAC-SHA256(Kt, bytes before)[0..8)' : 'HMAC-SHA256(Ks, bytes before)[0..8)'],
      ['CRC', 2, `0x${vector.crc.toUpperCase()} over bytes before`],
    ];
    lines.push(`**\`${vector.name}\`**: ${vector.description}`, '', '```', ...hexDump(bytes), '```', '', '| off | bytes | field | value |', '|---|---|---|---|');
    let at = 0;
    for (const [field, size, shown] of rows) {
      const slice = bytes.subarray(at, at + size);
      const shownBytes = size > 12 ? `${hexOf(slice.subarray(0, 8))} … (${size})` : hexOf(slice);
      lines.push(`| ${at} | \`${shownBytes}\` | ${field} | ${shown.replace(/\|/g, '\\|')} |`);
      at += size;
    }
    if (at !== bytes.length) throw new Error(`walk-through of ${vector.name} covers ${at} of ${bytes.length} bytes`);
    lines.push('');
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Write

for (const dir of ['valid', 'invalid', 'forged']) {
  mkdirSync(join(root, dir), { recursive: true });
  for (const file of readdirSync(join(root, dir))) if (file.endsWith('.json')) rmSync(join(root, dir, file));
}
for (const vector of valid) writeFileSync(join(root, 'valid', `${vector.name}.json`), `${JSON.stringify(vector, null, 2)}\n`);
for (const vector of invalid) writeFileSync(join(root, 'invalid', `${vector.name}.json`), `${JSON.stringify(vector, null, 2)}\n`);
for (const vector of forged) writeFileSync(join(root, 'forged', `${vector.name}.json`), `${JSON.stringify(vector, null, 2)}\n`);

const BEGIN = '<!-- BEGIN GENERATED WALKTHROUGH (protocol/vectors/generate.ts) -->';
const END = '<!-- END GENERATED WALKTHROUGH -->';
let spec: string | null = null;
try {
  spec = readFileSync(specPath, 'utf8');
} catch {
  console.log(`${specPath} not found; walk-through not written`);
}
if (spec !== null) {
  const begin = spec.indexOf(BEGIN);
  const end = spec.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`${specPath} has no walk-through markers`);
  writeFileSync(specPath, `${spec.slice(0, begin + BEGIN.length)}\n${walkthrough()}\n${spec.slice(end)}`);
}
console.log(`wrote ${valid.length} valid, ${invalid.length} invalid and ${forged.length} forged vectors to ${root}`);

/**
 * Wire constants of the aircharge terminal protocol, version 1.
 * Every number on the wire is named here once; PROTOCOL.md is the normative text and the
 * section cited beside each constant is where it is specified.
 */

/** §2.1 Frame layout: two sync bytes open every frame. */
export const SYNC_0 = 0xa5;
export const SYNC_1 = 0x5a;
export const SYNC = Buffer.from([SYNC_0, SYNC_1]);

/** §2.1 The only protocol version this codec speaks. */
export const PROTOCOL_VERSION = 0x01;

/** §2.1 Byte offsets of the fixed header. All integers are big-endian. */
export const Offset = {
  SYNC: 0, // 2 bytes, A5 5A
  VERSION: 2, // u8
  LENGTH: 3, // u16, whole frame length from the first sync byte to the last CRC byte
  TYPE: 5, // u8, MessageType
  FLAGS: 6, // u8, Flag bits
  TERMINAL_ID: 7, // 8 bytes ASCII [0-9A-Z]
  SEQ: 15, // u32
  TIMESTAMP: 19, // u32, terminal clock, Unix seconds UTC
  PAYLOAD: 23, // payload starts here
} as const;

export const HEADER_SIZE = 23;
export const TERMINAL_ID_SIZE = 8;
/** §5.3 MAC: the first 8 bytes of HMAC-SHA256 over every byte before the MAC. */
export const MAC_SIZE = 8;
/** §2.3 CRC-16/CCITT-FALSE over every byte before the CRC (the MAC included). */
export const CRC_SIZE = 2;
export const TRAILER_SIZE = MAC_SIZE + CRC_SIZE;
/** The smallest frame: header and trailer around an empty payload. */
export const MIN_FRAME_SIZE = HEADER_SIZE + TRAILER_SIZE;
/** §6.4 Limits: a length field above this is refused before any byte of the body is buffered. */
export const MAX_FRAME_SIZE = 1024;
export const MAX_PAYLOAD_SIZE = MAX_FRAME_SIZE - MIN_FRAME_SIZE;

/** §2.2 Flag bits. Reserved bits are sent as 0 and ignored on receipt. */
export const Flag = {
  /** The frame repeats an earlier request with the same sequence number (§6.2, §9.1). */
  RETRANSMIT: 0x01,
} as const;

/** §3 Message types. A response type is its request type with the high bit set. */
export const MessageType = {
  SIGN_IN: 0x01,
  HEARTBEAT: 0x02,
  INQUIRY: 0x03,
  PAY: 0x04,
  CORRECT: 0x05,
  STATUS: 0x06,
  SETTLE: 0x07,
  SIGN_OUT: 0x08,

  SIGN_IN_RESPONSE: 0x81,
  HEARTBEAT_RESPONSE: 0x82,
  INQUIRY_RESPONSE: 0x83,
  PAY_RESPONSE: 0x84,
  CORRECT_RESPONSE: 0x85,
  STATUS_RESPONSE: 0x86,
  SETTLE_RESPONSE: 0x87,
  SIGN_OUT_RESPONSE: 0x88,

  /** Gateway to terminal, unsolicited, sequence number 0: the gateway is about to close (§3.9). */
  NOTICE: 0x8f,
  /** Gateway to terminal: the answer to a request whose type the gateway does not know (§3.10). */
  REJECT: 0xff,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** Message type number → its name in §3 ("PAY", "PAY_RESPONSE"). */
export const MESSAGE_TYPE_NAME: ReadonlyMap<number, string> = new Map(
  Object.entries(MessageType).map(([name, type]) => [type, name]),
);

export const RESPONSE_BIT = 0x80;

/** §4 Result codes: the first byte of every response payload. One table for every message. */
export const ResultCode = {
  APPROVED: 0x00,
  BAD_FORMAT: 0x01,
  BAD_MAC: 0x02,
  NOT_SIGNED_IN: 0x03,
  UNKNOWN_TERMINAL: 0x04,
  TERMINAL_DISABLED: 0x05,
  MERCHANT_DISABLED: 0x06,
  CLOCK_SKEW: 0x07,
  REPLAY: 0x08,
  IN_PROGRESS: 0x09,
  SYSTEM_BUSY: 0x0a,
  SESSION_REPLACED: 0x0b,
  UNSUPPORTED_TYPE: 0x0c,
  /** The terminal sends requests faster than its rate allows (§6.4); the request was not looked at. */
  RATE_LIMITED: 0x0d,
  /** The terminal's INQUIRY quota for the window is used up (§6.4): account enumeration. */
  QUOTA_EXCEEDED: 0x0e,
  /** The seq is more than MAX_SEQ_STEP above the high-water mark (§6.1); nothing applied. */
  SEQ_OUT_OF_RANGE: 0x0f,

  UNKNOWN_ACCOUNT: 0x10,
  ACCOUNT_CLOSED: 0x11,
  FLOAT_SHORT: 0x12,
  AMOUNT_INVALID: 0x13,
  AMOUNT_OVER_LIMIT: 0x14,
  OVERPAYMENT: 0x15,
  /** A collector's cash in hand would pass its limit (PAY) or go below zero (CORRECT). */
  CASH_LIMIT: 0x16,
  /** The terminal's daily count or amount cap for the business day is reached. */
  TERMINAL_DAY_LIMIT: 0x17,
  /** The merchant's daily count or amount cap for the business day is reached. */
  MERCHANT_DAY_LIMIT: 0x18,
  /** The billing system cannot be reached (its breaker is open) and the gateway declines rather than queue (§4). */
  BILLER_UNAVAILABLE: 0x19,

  ORIGINAL_NOT_FOUND: 0x20,
  WRONG_TERMINAL: 0x21,
  CORRECTION_DAY_CLOSED: 0x22,
  CORRECTION_MISMATCH: 0x23,
  ALREADY_CORRECTED: 0x24,
  ORIGINAL_NOT_COMPLETED: 0x25,

  NOT_BALANCED: 0x30,
} as const;
export type ResultCode = (typeof ResultCode)[keyof typeof ResultCode];

/** Result code number → its name in PROTOCOL.md §4 (what logs and the simulator print). */
export const RESULT_NAME: ReadonlyMap<number, string> = new Map(
  Object.entries(ResultCode).map(([name, code]) => [code, name]),
);

/** §3.9 NOTICE reasons. */
export const NoticeReason = {
  SHUTTING_DOWN: 0x01,
  SESSION_REPLACED: 0x02,
  IDLE_TIMEOUT: 0x03,
  TOO_MANY_BAD_FRAMES: 0x04,
  TERMINAL_DISABLED: 0x05,
} as const;
export type NoticeReason = (typeof NoticeReason)[keyof typeof NoticeReason];

/** §3.1 What kind of account the terminal's merchant is (SIGN_IN approved answer). */
export const MerchantKind = {
  /** A shop that pre-stores a float: payments debit it. */
  OUTLET: 0x00,
  /** An electrician collecting at the door: payments raise the cash he holds, up to a limit. */
  COLLECTOR: 0x01,
} as const;
export type MerchantKind = (typeof MerchantKind)[keyof typeof MerchantKind];

/**
 * §3.2 A terminal's health in its HEARTBEAT. Signal strength is what the GSM module's AT+CSQ
 * reports (3GPP TS 27.007: 0 is -113 dBm or less, 31 is -51 dBm or more, 2 dB a step), so firmware
 * copies it as it reads it; 99 is the module's own "not known or not detectable".
 */
export const GSM_SIGNAL_MAX = 31;
export const GSM_SIGNAL_UNKNOWN = 99;
/** CSQ below this (under -93 dBm) is weak: GPRS drops and retransmits there. */
export const GSM_SIGNAL_WEAK_BELOW = 10;
export const BATTERY_UNKNOWN = 0xff;

/** §3.2 Where the terminal's power comes from. */
export const PowerSource = {
  UNKNOWN: 0x00,
  MAINS: 0x01,
  BATTERY: 0x02,
} as const;
export type PowerSource = (typeof PowerSource)[keyof typeof PowerSource];

/** §3.2 The receipt printer's state. */
export const PrinterState = {
  UNKNOWN: 0x00,
  OK: 0x01,
  PAPER_LOW: 0x02,
  PAPER_OUT: 0x03,
  COVER_OPEN: 0x04,
  FAULT: 0x05,
} as const;
export type PrinterState = (typeof PrinterState)[keyof typeof PrinterState];

/** §3.4 Bits of the `flags` byte of a PAY or CORRECT answer. Reserved bits are 0 and ignored. */
export const TxnFlag = {
  /** The outlet's float is in the low-float warning state (below its threshold, hysteresis). */
  LOW_FLOAT: 0x01,
  /** The collector is in the near-cash-limit state (src/core/README.md "Near the cash limit"): time to remit. */
  CASH_NEAR_LIMIT: 0x02,
} as const;

/** §3.6 STATUS states of the transaction asked about. */
export const TransactionState = {
  NOT_FOUND: 0x00,
  IN_PROGRESS: 0x01,
  ANSWERED: 0x02,
} as const;
export type TransactionState = (typeof TransactionState)[keyof typeof TransactionState];

/** §7 Field formats. */
export const ACCOUNT_SIZE = 10; // ASCII digits
export const RECEIPT_SIZE = 18; // terminal id (8) + sequence number as 10 decimal digits
export const NONCE_SIZE = 16;
export const FIRMWARE_SIZE = 8; // ASCII, NUL-padded
export const TERMINAL_KEY_SIZE = 32;
export const MAX_NAME_BYTES = 60; // UTF-8
export const MAX_BILL_PERIODS = 12;
/** Money fields are u32 fen: at most ¥42,949,672.95. */
export const MAX_FEN = 0xffffffff;

export const TERMINAL_ID_PATTERN = /^[0-9A-Z]{8}$/;
export const ACCOUNT_PATTERN = /^[0-9]{10}$/;
export const RECEIPT_PATTERN = /^[0-9A-Z]{8}[0-9]{10}$/;

/** §5.2 Session-key derivation label. */
export const SESSION_KEY_LABEL = Buffer.from('AC1-SESSION', 'ascii');
/** §5.4 Refusal-key derivation label: the key of a sign-in refusal sent after the request's MAC verified. */
export const REFUSAL_KEY_LABEL = Buffer.from('AC1-REFUSAL', 'ascii');

/**
 * §6.1 The most one request may move the terminal's sequence high-water mark: a request whose seq
 * is further above it is refused with SEQ_OUT_OF_RANGE, so no single frame (a firmware fault, a
 * counter restored from garbage) can use up the 2³²−1 numbers a terminal has.
 */
export const MAX_SEQ_STEP = 100_000;

/** §6.3, §6.4 Defaults the gateway announces or enforces; the gateway's configuration may change them. */
export const Defaults = {
  HEARTBEAT_SEC: 60,
  /** Three missed heartbeats; well under the ~5 min after which carrier NATs drop idle flows. */
  IDLE_TIMEOUT_SEC: 180,
  SIGN_IN_TIMEOUT_SEC: 15,
  CLOCK_WINDOW_SEC: 300,
  MAX_BAD_FRAMES: 5,
} as const;

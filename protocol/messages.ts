/**
 * The decoded value of every message payload (PROTOCOL.md §3). Field names are the ones the spec
 * tables use. Money is integer fen; dates are YYYYMMDD and bill periods YYYYMM as integers.
 * Every response starts with `result`; fields that a result code does not fill are zero or empty.
 */
import type { MerchantKind, MessageType, NoticeReason, PowerSource, PrinterState, ResultCode, TransactionState } from './constants.js';

export interface SignInRequest {
  /** 16 random bytes from the terminal, one half of the session-key derivation. */
  nonce: Buffer;
  /** Firmware version, ASCII, at most 8 bytes. */
  firmware: string;
}
export interface SignInResponse {
  result: ResultCode;
  /** 16 random bytes from the gateway, the other half of the derivation. Zero unless approved. */
  nonce: Buffer;
  serverTime: number;
  heartbeatSec: number;
  /** The terminal's sequence high-water mark: its next frame must carry a larger number. */
  lastSeq: number;
  businessDay: number;
  /** OUTLET or COLLECTOR: what the terminal prints and which balance its answers carry. Zero unless approved. */
  merchantKind: MerchantKind;
  /** The outlet's or collector's name for the receipt header, UTF-8, at most 60 bytes. Empty unless approved. */
  merchantName: string;
}

/** §3.2 The terminal's health, sent with every heartbeat. */
export interface TerminalHealth {
  /** GSM signal as AT+CSQ reports it: 0..31, or 99 (GSM_SIGNAL_UNKNOWN). */
  signal: number;
  power: PowerSource;
  /** Battery charge in percent, 0..100, or 255 (BATTERY_UNKNOWN: not known, or no battery). */
  battery: number;
  printer: PrinterState;
}
export type HeartbeatRequest = TerminalHealth;
export interface HeartbeatResponse {
  result: ResultCode;
  serverTime: number;
}

export interface InquiryRequest {
  account: string;
}
export interface BillPeriod {
  period: number;
  amountFen: number;
}
export interface InquiryResponse {
  result: ResultCode;
  arrearsFen: number;
  /** Masked as §7.2 says: the whole name never leaves the gateway. */
  holderName: string;
  periods: BillPeriod[];
}

export interface PayRequest {
  account: string;
  amountFen: number;
}
export interface PayResponse {
  result: ResultCode;
  receipt: string;
  arrearsFen: number;
  floatFen: number;
  businessDay: number;
  /** TxnFlag bits: LOW_FLOAT (outlets), CASH_NEAR_LIMIT (collectors). */
  flags: number;
  /** A collector's cash in hand after this movement (APPROVED); 0 for an outlet. */
  cashHeldFen: number;
  /** The account holder's name, masked (§7.2), for the receipt (APPROVED); else empty. */
  holderName: string;
  /** The bill periods this payment paid, or this correction restored, oldest first (APPROVED). */
  periods: BillPeriod[];
}

export interface CorrectRequest {
  receipt: string;
  account: string;
  amountFen: number;
}
/** Same layout as PayResponse; `receipt` is the correction's own receipt. */
export type CorrectResponse = PayResponse;

export interface StatusRequest {
  querySeq: number;
}
export interface StatusResponse {
  result: ResultCode;
  state: TransactionState;
  /** Response type of the original request (0 when NOT_FOUND). */
  originalType: number;
  /** The original response payload, byte for byte as it was (or would have been) sent. */
  originalPayload: Buffer;
}

export interface SettleRequest {
  businessDay: number;
  payCount: number;
  payFen: number;
  correctCount: number;
  correctFen: number;
}
/** The gateway's figures for the same day, whether or not they balance. */
export interface SettleResponse {
  result: ResultCode;
  businessDay: number;
  payCount: number;
  payFen: number;
  correctCount: number;
  correctFen: number;
}

export type SignOutRequest = Record<string, never>;
export interface SignOutResponse {
  result: ResultCode;
}

export interface Notice {
  reason: NoticeReason;
  /** Seconds the terminal should wait before it reconnects (0: at once, elsewhere). */
  retryAfterSec: number;
}
export interface Reject {
  result: ResultCode;
}

/** Message type → its payload value. */
export interface MessageMap {
  [MessageType.SIGN_IN]: SignInRequest;
  [MessageType.HEARTBEAT]: HeartbeatRequest;
  [MessageType.INQUIRY]: InquiryRequest;
  [MessageType.PAY]: PayRequest;
  [MessageType.CORRECT]: CorrectRequest;
  [MessageType.STATUS]: StatusRequest;
  [MessageType.SETTLE]: SettleRequest;
  [MessageType.SIGN_OUT]: SignOutRequest;
  [MessageType.SIGN_IN_RESPONSE]: SignInResponse;
  [MessageType.HEARTBEAT_RESPONSE]: HeartbeatResponse;
  [MessageType.INQUIRY_RESPONSE]: InquiryResponse;
  [MessageType.PAY_RESPONSE]: PayResponse;
  [MessageType.CORRECT_RESPONSE]: CorrectResponse;
  [MessageType.STATUS_RESPONSE]: StatusResponse;
  [MessageType.SETTLE_RESPONSE]: SettleResponse;
  [MessageType.SIGN_OUT_RESPONSE]: SignOutResponse;
  [MessageType.NOTICE]: Notice;
  [MessageType.REJECT]: Reject;
}

/** A decoded frame header (§2) with its raw payload. */
export interface Frame {
  version: number;
  type: number;
  flags: number;
  terminalId: string;
  seq: number;
  /** Terminal clock, Unix seconds. */
  timestamp: number;
  payload: Buffer;
  mac: Buffer;
  /** The whole frame as received, for MAC checks and debug hex dumps. */
  raw: Buffer;
}

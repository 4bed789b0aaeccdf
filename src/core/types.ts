/**
 * The transaction core as the gateway sees it. The core knows no sockets and no frames: it takes
 * domain values and returns the response values of PROTOCOL.md §3, with every refusal expressed
 * as a result code. It throws only StoreUnavailableError (the store cannot be reached or did not
 * answer in time), which the gateway answers with SYSTEM_BUSY.
 */
import type {
  CorrectRequest,
  CorrectResponse,
  HeartbeatResponse,
  InquiryRequest,
  InquiryResponse,
  PayRequest,
  PayResponse,
  SettleRequest,
  SettleResponse,
  SignOutResponse,
  StatusRequest,
  TerminalHealth,
} from '../../protocol/messages.js';
import type { MerchantKind, ResultCode, TransactionState } from '../../protocol/constants.js';

/** Who asks, on which connection, with which sequence number: the input of the replay guard. */
export interface RequestContext {
  terminalId: string;
  merchantId: string;
  /** Identifies the connection (unique across gateway instances) whose session made the request. */
  connectionId: string;
  seq: number;
  /** Hex digest of the request's type and payload; flags, timestamp and MAC are left out. */
  fingerprint: string;
  /** Server clock, epoch milliseconds. */
  now: number;
}

/** A response and whether it was a stored one sent again (a retransmission). */
export interface Outcome<T> {
  response: T;
  replayed: boolean;
}

/** A terminal as sign-in needs it: its merchant, its clear key (decrypted), and both statuses. */
export interface TerminalRecord {
  terminalId: string;
  merchantId: string;
  key: Buffer;
  terminalActive: boolean;
  merchantActive: boolean;
  /** What the approved sign-in tells the terminal (PROTOCOL.md §3.1). */
  merchantKind: MerchantKind;
  merchantName: string;
}

export interface OpenSessionInput {
  terminalId: string;
  merchantId: string;
  seq: number;
  connectionId: string;
  instanceId: string;
  peer: string;
  now: number;
  /** Expiry of the session record; refreshed by every request on the session. */
  ttlSec: number;
  /** The firmware version the terminal signed in with, kept for the fleet view. */
  firmware: string;
}

export interface OpenSessionResult {
  result: ResultCode;
  /** The terminal's sequence high-water mark after this sign-in (its previous one on REPLAY). */
  lastSeq: number;
  /** The session this sign-in replaced, so the gateway can close its connection wherever it is. */
  replaced: { instanceId: string; connectionId: string } | null;
}

/** What heartbeats showed of a terminal since the last write (SessionStore.heartbeatSeen). */
export interface HeartbeatSeen {
  /** The highest number a heartbeat answered by the gateway itself used, to raise the mark to; 0 for none. */
  mark: number;
  /** The health the latest heartbeat reported, and when (its last contact); null to leave the stored one. */
  health: { report: TerminalHealth; at: number } | null;
}

export interface StatusResult {
  result: ResultCode;
  state: TransactionState;
  /** The original request's type and its response value (absent when NOT_FOUND or in progress). */
  original: { type: number; response: PayResponse | CorrectResponse } | null;
}

/** Terminal registry and sessions: what sign-in, sign-out and connection close need. */
export interface SessionStore {
  lookupTerminal(terminalId: string): Promise<TerminalRecord | null>;
  /** Counts a bad MAC against the terminal (it does not advance the terminal's state). */
  countBadMac(terminalId: string, merchantId: string): Promise<void>;
  openSession(input: OpenSessionInput): Promise<OpenSessionResult>;
  /** What heartbeats showed of the terminal, kept in one write. */
  heartbeatSeen(terminalId: string, merchantId: string, seen: HeartbeatSeen): Promise<void>;
  /** Compare-and-delete: removes the session only if it still belongs to this connection. */
  closeSession(terminalId: string, merchantId: string, connectionId: string): Promise<boolean>;
}

/** Business requests. Each is decided atomically with the replay guard (DESIGN "Exactly once"). */
export interface TransactionCore {
  heartbeat(ctx: RequestContext): Promise<Outcome<HeartbeatResponse>>;
  inquiry(ctx: RequestContext, req: InquiryRequest): Promise<Outcome<InquiryResponse>>;
  pay(ctx: RequestContext, req: PayRequest): Promise<Outcome<PayResponse>>;
  correct(ctx: RequestContext, req: CorrectRequest): Promise<Outcome<CorrectResponse>>;
  status(ctx: RequestContext, req: StatusRequest): Promise<Outcome<StatusResult>>;
  settle(ctx: RequestContext, req: SettleRequest): Promise<Outcome<SettleResponse>>;
  signOut(ctx: RequestContext): Promise<Outcome<SignOutResponse>>;
  /** Finishes or rolls back every pending transaction older than the bound; returns how many. */
  recover(now: number): Promise<{ completed: number; rolledBack: number; inDoubt: number }>;
}

/** Thrown when Redis cannot be reached or times out; answered with SYSTEM_BUSY. */
export class StoreUnavailableError extends Error {
  readonly code = 'ERR_STORE_UNAVAILABLE';
  constructor(cause: unknown) {
    super('store unavailable', { cause });
    this.name = 'StoreUnavailableError';
  }
}

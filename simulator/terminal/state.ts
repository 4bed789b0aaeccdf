/**
 * The terminal's flash memory: its next sequence number, the transactions it sent and has no
 * final answer for, and the receipts it saw approved (for corrections and the day's settle).
 * Saved before every send that needs it, atomically (temp file, fsync, rename), so a terminal
 * that loses power mid-exchange comes back knowing what to retransmit.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** A PAY or CORRECT sent but not yet finally answered: it is retransmitted with the same seq. */
export interface PendingTransaction {
  seq: number;
  type: number;
  account: string;
  amountFen: number;
  /** For a correction: the receipt of the payment it undoes. */
  original?: string;
}

/** A transaction the terminal saw approved: its ledger. */
export interface ReceiptRecord {
  receipt: string;
  seq: number;
  kind: 'pay' | 'correct';
  account: string;
  amountFen: number;
  businessDay: number;
  /** For a correction: the payment it undid. */
  original?: string;
}

export interface TerminalState {
  terminalId: string;
  nextSeq: number;
  pending: PendingTransaction[];
  receipts: ReceiptRecord[];
}

export interface StateStore {
  load(): TerminalState;
  save(state: TerminalState): void;
}

export function freshState(terminalId: string): TerminalState {
  return { terminalId, nextSeq: 1, pending: [], receipts: [] };
}

/**
 * State held in memory only: fleet and load terminals that need no flash across runs. It keeps
 * the terminal's own object, so a save costs nothing however long the ledger grows.
 */
export class MemoryStateStore implements StateStore {
  private state: TerminalState;
  constructor(terminalId: string) {
    this.state = freshState(terminalId);
  }
  load(): TerminalState {
    return this.state;
  }
  save(state: TerminalState): void {
    this.state = state;
  }
}

/** One JSON file per terminal in the state directory. */
export class FileStateStore implements StateStore {
  readonly path: string;

  constructor(
    private readonly dir: string,
    private readonly terminalId: string,
  ) {
    this.path = join(dir, `${terminalId}.json`);
  }

  load(): TerminalState {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return freshState(this.terminalId);
      throw error;
    }
    const state = JSON.parse(text) as TerminalState;
    if (state.terminalId !== this.terminalId || !Number.isInteger(state.nextSeq)) {
      throw new Error(`${this.path} is not the state of terminal ${this.terminalId}`);
    }
    return state;
  }

  save(state: TerminalState): void {
    mkdirSync(this.dir, { recursive: true });
    const temp = `${this.path}.${process.pid}.tmp`;
    const fd = openSync(temp, 'w');
    try {
      writeSync(fd, JSON.stringify(state, null, 1));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, this.path);
  }
}

/** The terminal's own totals for a business day: what it sends in SETTLE. */
export function dayTotals(state: TerminalState, businessDay: number) {
  const totals = { businessDay, payCount: 0, payFen: 0, correctCount: 0, correctFen: 0 };
  for (const r of state.receipts) {
    if (r.businessDay !== businessDay) continue;
    if (r.kind === 'pay') {
      totals.payCount += 1;
      totals.payFen += r.amountFen;
    } else {
      totals.correctCount += 1;
      totals.correctFen += r.amountFen;
    }
  }
  return totals;
}

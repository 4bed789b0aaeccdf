/**
 * A collector's day: an electrician walking door to door with a mobile terminal. At each door he
 * asks the account's bill (INQUIRY) and takes the arrears in cash (PAY); now and then the
 * householder disputes it on the spot and he undoes it (CORRECT). The cash stays in his pouch
 * until he hands it in at the office: when his terminal says CASH_NEAR_LIMIT, when a payment is
 * declined CASH_LIMIT (he walks back, hands in, and tries the door again), and at the end of the
 * day. The office records each hand-in through the operator API (`aircharge collector remit`),
 * once per reference.
 */
import { ResultCode, TxnFlag } from '../../protocol/index.js';
import type { Random } from '../link/prng.js';
import type { Answer, Terminal, TerminalState } from '../terminal/index.js';
import type { InquiryResponse, PayResponse } from '../../protocol/messages.js';

/** The office's side of a hand-in: `aircharge collector remit MID AMOUNT --reference R`. */
export type Office = (merchantId: string, amountFen: number, reference: string) => Promise<unknown>;

/** One hand-in as the office recorded it (or refused it). */
export interface Remittance {
  reference: string;
  amountFen: number;
  /** 'near-limit', 'cash-limit' or 'end-of-day'. */
  why: string;
  ok: boolean;
  error?: string;
}

export interface Round {
  merchantId: string;
  /** The accounts of his round, in the order he walks them; he goes round again at the end. */
  route: string[];
  /** Share of payments the householder disputes on the spot. */
  correctShare: number;
  office: Office;
  remits: Remittance[];
  /** Sends a request and notes its answer in the fleet's figures. */
  ask<T>(operation: 'inquiry' | 'pay' | 'correct', request: () => Promise<Answer<T>>): Promise<Answer<T>>;
}

/**
 * What his pouch holds by his terminal's own receipts: payments less corrections less what he
 * handed in. Whole yuan go to the office; the coins stay with him for change.
 */
export function pouchFen(state: TerminalState, remits: readonly Remittance[]): number {
  let fen = 0;
  for (const r of state.receipts) fen += r.kind === 'pay' ? r.amountFen : -r.amountFen;
  for (const r of remits) if (r.ok) fen -= r.amountFen;
  return fen;
}

/** Hands in the pouch's whole yuan; not while a transaction is unfinished (its cash is in doubt). */
export async function handIn(terminal: Terminal, round: Round, why: string): Promise<void> {
  const state = terminal.snapshot;
  if (state.pending.length > 0) return;
  const amountFen = Math.floor(pouchFen(state, round.remits) / 100) * 100;
  if (amountFen <= 0) return;
  const reference = `${terminal.terminalId}-R${round.remits.length + 1}`;
  try {
    await round.office(round.merchantId, amountFen, reference);
    round.remits.push({ reference, amountFen, why, ok: true });
  } catch (error) {
    round.remits.push({ reference, amountFen, why, ok: false, error: (error as Error).message });
  }
}

/** One door of the round. */
export async function door(terminal: Terminal, round: Round, random: Random, doorNumber: number): Promise<void> {
  // Firmware finishes what its flash holds before the next customer.
  if (terminal.snapshot.pending.length > 0) await terminal.resumePending();
  const account = round.route[doorNumber % round.route.length]!;
  const bill = await round.ask<InquiryResponse>('inquiry', () => terminal.inquiry(account));
  if (bill.code !== ResultCode.APPROVED || bill.response.arrearsFen === 0) return;
  const amountFen = bill.response.arrearsFen;
  let paid = await round.ask<PayResponse>('pay', () => terminal.pay(account, amountFen));
  if (paid.code === ResultCode.CASH_LIMIT) {
    await handIn(terminal, round, 'cash-limit');
    paid = await round.ask<PayResponse>('pay', () => terminal.pay(account, amountFen));
  }
  if (paid.code !== ResultCode.APPROVED) return;
  if (random.chance(round.correctShare)) {
    await round.ask<PayResponse>('correct', () => terminal.correct(paid.response.receipt, account, amountFen));
  } else if (paid.response.flags & TxnFlag.CASH_NEAR_LIMIT) {
    await handIn(terminal, round, 'near-limit');
  }
}

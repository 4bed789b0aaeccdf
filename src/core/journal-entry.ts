/** The journal entry a completed payment or correction appends (src/store/journal.ts). */
import { journalEntryArgs, type JournalHead, type RecordFields } from '../store/journal.js';
import type { CoreDeps, PendingTransaction } from './deps.js';

/** The completion script's journal arguments: the entry's fields and their MAC. */
export function transactionEntryArgs(deps: Pick<CoreDeps, 'journalKey'>, txn: PendingTransaction, now: number): string[] {
  const fields: RecordFields = [
    ['kind', txn.kind],
    ['txn', txn.receipt],
    ['terminal', txn.terminalId],
    ['amountFen', txn.amountFen],
    ['day', txn.businessDay],
    ['ts', now],
    ...(txn.kind === 'correct' ? ([['original', txn.original ?? '']] as const) : []),
    // A payment an operator re-entered from the terminal's receipt (src/admin/operator-actions.ts).
    ...(txn.origin !== undefined ? ([['origin', txn.origin]] as const) : []),
  ];
  return journalEntryArgs(deps.journalKey, txn.merchantId, txn.seen, fields);
}

/** The journal head a reserve step returns after 'reserved' and one value: {'reserved', x, id, chain}. */
export function reservedHead(reply: unknown[]): JournalHead {
  return { id: String(reply[2] ?? ''), chain: String(reply[3] ?? '') };
}

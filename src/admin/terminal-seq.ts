/**
 * `terminal reset-seq`: puts a terminal's sequence high-water mark back, for a terminal whose
 * counter was pushed too far (before sign-in refusals were authenticated, one forged REPLAY could
 * send a terminal to the last number it has, PROTOCOL.md §6.1).
 *
 * The mark never goes below a number that started a transaction or was declined as one: a
 * receipt is the terminal and seq (§7.4), kept for good, so reusing such a number would give two
 * payments one receipt. Request
 * records above the new mark (declines and read-only requests, kept for the replay retention) are
 * deleted, so the numbers above it are new again. The terminal's session ends: its connection
 * holds the old mark, and the terminal signs in again.
 */
import { parseReceipt } from '../../protocol/index.js';
import { kickMessage } from '../store/kick.js';
import { keys } from '../store/keys.js';
import { Script } from '../store/script.js';
import { scanKeys, type AdminContext } from './context.js';
import { AdminError, AdminErrorCode } from './errors.js';
import { merchantOfTerminal, showTerminal, type Terminal } from './terminals.js';

export interface SeqReset {
  terminal: Terminal;
  /** The mark before the reset. */
  previousHwm: number;
  /** The highest number that started a transaction of this terminal (0: none): the lowest mark allowed. */
  lowestAllowed: number;
  /** Request records above the new mark that were deleted. */
  requestsCleared: number;
}

/**
 * Sets the mark, deletes the request records named in ARGV[2..], ends the session.
 * KEYS[1] terminal, KEYS[2] session; ARGV[1] the new mark, ARGV[2..] request record keys
 * → {previous mark, instance, connection} of the session ended (empty when none), or nil (no terminal)
 */
const RESET_SEQ = new Script(`
if redis.call('EXISTS', KEYS[1]) == 0 then return nil end
local previous = redis.call('HGET', KEYS[1], 'hwm') or '0'
redis.call('HSET', KEYS[1], 'hwm', ARGV[1])
for i = 2, #ARGV do redis.call('DEL', ARGV[i]) end
local session = redis.call('HMGET', KEYS[2], 'instance', 'conn')
redis.call('DEL', KEYS[2])
return {previous, session[1] or '', session[2] or ''}
`);

/** Resets the terminal's mark to `to`, or, without it, to the lowest mark allowed. */
export async function resetTerminalSeq(context: AdminContext, terminalId: string, to?: number): Promise<SeqReset> {
  if (to !== undefined && (!Number.isInteger(to) || to < 0 || to > 0xffffffff)) {
    throw new AdminError(AdminErrorCode.INVALID, 'a sequence number is an integer in 0..4294967295');
  }
  const merchantId = await merchantOfTerminal(context, terminalId);
  // Receipts of the terminal: its index (declines included), and the transaction records, which
  // predate the index on older data.
  const [indexed, transactions] = await Promise.all([
    context.redis.zrange(keys.terminalTxns(merchantId, terminalId), 0, -1),
    scanKeys(context, keys.transaction(merchantId, `${terminalId}*`)),
  ]);
  let lowestAllowed = 0;
  for (const receiptText of [...indexed, ...transactions.map((key) => key.slice(key.lastIndexOf(':') + 1))]) {
    const receipt = parseReceipt(receiptText);
    if (receipt !== null && receipt.terminalId === terminalId) lowestAllowed = Math.max(lowestAllowed, receipt.seq);
  }
  const mark = to ?? lowestAllowed;
  if (mark < lowestAllowed) {
    throw new AdminError(AdminErrorCode.CONFLICT,
      `terminal ${terminalId}: seq ${lowestAllowed} started a transaction (receipt ${terminalId}${String(lowestAllowed).padStart(10, '0')}); the mark cannot go below it`);
  }
  const requestPrefix = keys.request(merchantId, terminalId, 0).replace(/0$/, '');
  const above = (await scanKeys(context, `${requestPrefix}*`)).filter((key) => Number(key.slice(requestPrefix.length)) > mark);
  // Every key above is in the merchant's slot, so one script can delete them (as arguments, not
  // KEYS, as the scripts that scan nothing do not declare what they have not read).
  const reply = (await RESET_SEQ.run(context.redis, [keys.terminal(merchantId, terminalId), keys.session(merchantId, terminalId)],
    [mark, ...above])) as [string, string, string] | null;
  if (reply === null) throw new AdminError(AdminErrorCode.NOT_FOUND, `unknown terminal ${terminalId}`);
  const [previous, instanceId, connectionId] = reply;
  if (instanceId !== '' && connectionId !== '') {
    await context.redis.publish(keys.kickChannel(instanceId), kickMessage('replaced', connectionId));
  }
  return { terminal: await showTerminal(context, terminalId), previousHwm: Number(previous), lowestAllowed, requestsCleared: above.length };
}

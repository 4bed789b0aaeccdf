/**
 * Money an operator moves by hand, each applied once by its reference: an outlet's top-up (the
 * float it pre-stored at the bank) and a collector's remittance (cash handed in at the office).
 * The balance change, the journal entry (MACed and chained: src/store/journal.ts) and the
 * reference record are one script, so the journal always explains the balance and a reference is
 * never applied twice.
 */
import { MAX_FEN } from '../../protocol/constants.js';
import { keys } from '../store/keys.js';
import { JOURNAL_APPEND, journalEntryArgs, readJournalHead } from '../store/journal.js';
import { requireJournalKey, type AdminContext } from './context.js';
import { businessDayOf } from '../core/business-day.js';
import { noteLowFloat } from '../core/low-float.js';
import { noteCashNear } from '../core/cash-near.js';
import type { LowFloatOptions } from '../core/deps.js';
import { AdminError, AdminErrorCode } from './errors.js';
import { checkMerchantId } from './merchants.js';
import { formatYuan } from './money.js';
import { Script } from '../store/script.js';
import { BALANCE } from '../store/lua/balance.js';

export interface TopUpResult {
  merchantId: string;
  amountFen: number;
  floatFen: number;
  reference: string;
  reason: string;
  /** The journal entry's stream id. */
  entry: string;
  /** 'leave' when this top-up took the outlet out of the low-float state ('enter' if still below it). */
  lowFloat: '' | 'enter' | 'leave';
}

export interface RemitResult {
  merchantId: string;
  amountFen: number;
  /** Cash the collector still holds. */
  cashFen: number;
  /** 'leave' when this remittance took him out of the near-cash-limit state. */
  nearCashLimit: '' | 'leave';
  reference: string;
  reason: string;
  entry: string;
}

/** What identifies a movement and explains it. */
export interface MovementNote {
  /** Unique per merchant; applied once. */
  reference: string;
  reason?: string;
}

/** References are printable, without spaces, so they survive CSV files and logs unquoted. */
const REFERENCE_PATTERN = /^[!-~]{1,64}$/;
const MAX_REASON_LENGTH = 200;

// Shared by both scripts: the merchant must exist and be of the right kind (ARGV[3]), the
// reference (ARGV[4]) new.
const MOVEMENT_CHECKS = `
local m = redis.call('HMGET', KEYS[1], 'id', 'kind')
if not m[1] then return {0} end
local kind = m[2] or 'outlet'
if kind ~= ARGV[3] then return {-2, kind} end
local applied = redis.call('HGET', KEYS[3], ARGV[4])
if applied then return {-3, applied} end
`;

/**
 * KEYS[1] merchant (and the journal's head), KEYS[2] journal, KEYS[3] references
 * ARGV[1] amount, ARGV[2] float ceiling, ARGV[3] 'outlet', ARGV[4] reference,
 * ARGV[5] default low-float threshold, ARGV[6] margin, ARGV[7..] the journal entry (journalEntryArgs)
 * → {1, float, entry, low-float transition} | {0} unknown | {-1, float} ceiling | {-2, kind} | {-3, entry} applied
 */
const TOP_UP = new Script(`${JOURNAL_APPEND}${BALANCE}${MOVEMENT_CHECKS}
local amount = tonumber(ARGV[1])
local before = tonumber(redis.call('HGET', KEYS[1], 'floatFen') or '0')
if before + amount > tonumber(ARGV[2]) then return {-1, before} end
local after = redis.call('HINCRBY', KEYS[1], 'floatFen', amount)
local entry = journalAppend(KEYS[2], KEYS[1], 7, {'floatFen', after})
redis.call('HSET', KEYS[3], ARGV[4], entry)
local _, transition = lowFloat(KEYS[1], after, ARGV[5], ARGV[6])
return {1, after, entry, transition}
`);

/**
 * KEYS as TOP_UP; ARGV[1] amount, ARGV[3] 'collector', ARGV[4] reference, ARGV[5] near-cash-limit
 * percent, ARGV[6] its margin, ARGV[7..] the journal entry
 * → {1, cash left, entry, near-cash-limit transition} | {0} | {-1, cash held} more than held | {-2, kind} | {-3, entry}
 */
const REMIT = new Script(`${JOURNAL_APPEND}${BALANCE}${MOVEMENT_CHECKS}
local amount = tonumber(ARGV[1])
local held = redis.call('HMGET', KEYS[1], 'cashFen', 'cashLimitFen')
if amount > (tonumber(held[1]) or 0) then return {-1, tonumber(held[1]) or 0} end
local after = redis.call('HINCRBY', KEYS[1], 'cashFen', -amount)
local _, transition = cashNear(KEYS[1], after, tonumber(held[2]) or 0, ARGV[5], ARGV[6])
local entry = journalAppend(KEYS[2], KEYS[1], 7, {'cashFen', after})
redis.call('HSET', KEYS[3], ARGV[4], entry)
return {1, after, entry, transition}
`);

function checkMovement(merchantId: string, amountFen: number, note: MovementNote, what: string): void {
  checkMerchantId(merchantId);
  if (!Number.isSafeInteger(amountFen) || amountFen <= 0 || amountFen > MAX_FEN) {
    throw new AdminError(AdminErrorCode.AMOUNT, `a ${what} is more than zero and at most ${formatYuan(MAX_FEN)} yuan`);
  }
  if (!REFERENCE_PATTERN.test(note.reference)) {
    throw new AdminError(AdminErrorCode.INVALID, `bad reference ${JSON.stringify(note.reference)}: 1 to 64 printable characters, no spaces`);
  }
  const reason = note.reason ?? '';
  // eslint-disable-next-line no-control-regex
  if ([...reason].length > MAX_REASON_LENGTH || /[\u0000-\u001f\u007f]/.test(reason)) {
    throw new AdminError(AdminErrorCode.INVALID, `bad reason: at most ${MAX_REASON_LENGTH} characters, no control characters`);
  }
}

function refused(status: number, detail: unknown, merchantId: string, note: MovementNote, what: string): AdminError {
  if (status === 0) return new AdminError(AdminErrorCode.NOT_FOUND, `unknown merchant ${merchantId}`);
  if (status === -2) {
    return new AdminError(AdminErrorCode.KIND, `merchant ${merchantId} is ${detail === 'collector' ? 'a collector' : 'an outlet'}: no ${what} for it`);
  }
  return new AdminError(AdminErrorCode.DUPLICATE, `merchant ${merchantId}: reference ${note.reference} was applied already (journal entry ${String(detail)}); nothing done`, [String(detail)]);
}

/**
 * The journal entry of a top-up or remittance, MACed here (the key never reaches Redis): what
 * moved, when, by whose reference and reason, and which operator did it.
 */
async function movementEntry(context: AdminContext, kind: 'topup' | 'remit', merchantId: string, amountFen: number, note: MovementNote, now: number): Promise<string[]> {
  const key = requireJournalKey(context, 'writes a journal entry');
  const seen = await readJournalHead(context.redis, merchantId);
  return journalEntryArgs(key, merchantId, seen, [
    ['kind', kind],
    ['txn', ''],
    ['terminal', ''],
    ['amountFen', amountFen],
    ['day', businessDayOf(now, context.businessDay)],
    ['ts', now],
    ['ref', note.reference],
    ['reason', note.reason ?? ''],
    ['operator', context.operator ?? ''],
  ]);
}

const movementKeys = (merchantId: string) => [keys.merchant(merchantId), keys.journal(merchantId), keys.references(merchantId)];

export async function topUp(
  context: AdminContext & { lowFloat: LowFloatOptions },
  merchantId: string,
  amountFen: number,
  note: MovementNote,
): Promise<TopUpResult> {
  checkMovement(merchantId, amountFen, note, 'top-up');
  const now = context.now();
  const entryArgs = await movementEntry(context, 'topup', merchantId, amountFen, note, now);
  const reply = (await TOP_UP.run(context.redis, movementKeys(merchantId), [
    amountFen,
    MAX_FEN,
    'outlet',
    note.reference,
    context.lowFloat.thresholdFen,
    context.lowFloat.marginFen,
    ...entryArgs,
  ])) as [number, unknown?, string?, string?];
  const [status, detail, entry = '', transition = ''] = reply;
  if (status === -1) {
    throw new AdminError(
      AdminErrorCode.FLOAT_LIMIT,
      `merchant ${merchantId}: float ${formatYuan(Number(detail))} + ${formatYuan(amountFen)} would pass the limit of ${formatYuan(MAX_FEN)} yuan`,
    );
  }
  if (status !== 1) throw refused(status, detail, merchantId, note, 'top-up');
  const floatFen = Number(detail);
  noteLowFloat(context.logger, merchantId, transition, floatFen);
  // For aircharge_topups_total: top-ups happen here, in whichever process runs the admin API.
  await context.redis.pipeline().hincrby(keys.topUpStats(), 'count', 1).hincrby(keys.topUpStats(), 'fen', amountFen).exec();
  const lowFloat = transition === 'enter' || transition === 'leave' ? transition : '';
  return { merchantId, amountFen, floatFen, reference: note.reference, reason: note.reason ?? '', entry, lowFloat };
}

export async function remit(context: AdminContext, merchantId: string, amountFen: number, note: MovementNote): Promise<RemitResult> {
  checkMovement(merchantId, amountFen, note, 'remittance');
  const now = context.now();
  const entryArgs = await movementEntry(context, 'remit', merchantId, amountFen, note, now);
  const reply = (await REMIT.run(context.redis, movementKeys(merchantId), [
    amountFen,
    '',
    'collector',
    note.reference,
    context.cashNear.percent,
    context.cashNear.marginPercent,
    ...entryArgs,
  ])) as [number, unknown?, string?, string?];
  const [status, detail, entry = '', transition = ''] = reply;
  if (status === -1) {
    throw new AdminError(
      AdminErrorCode.CASH,
      `collector ${merchantId} holds ${formatYuan(Number(detail))} yuan: cannot remit ${formatYuan(amountFen)} (cash held never goes below zero)`,
    );
  }
  if (status !== 1) throw refused(status, detail, merchantId, note, 'remittance');
  const cashFen = Number(detail);
  noteCashNear(context.logger, merchantId, transition, cashFen);
  const nearCashLimit = transition === 'cash-leave' ? 'leave' : '';
  return { merchantId, amountFen, cashFen, reference: note.reference, reason: note.reason ?? '', entry, nearCashLimit };
}

/** A reference for a top-up given without one (the old `float topup ID AMOUNT` form): unique, so never a duplicate. */
export function generatedReference(now: number): string {
  return `manual-${new Date(now).toISOString().replace(/[-:.]/g, '')}-${Math.random().toString(36).slice(2, 8)}`;
}

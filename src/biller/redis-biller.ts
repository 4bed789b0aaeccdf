/** The embedded biller: billing accounts, their bills and postings kept in Redis beside the gateway's own data (the default). */
import type { Cluster, Redis } from 'ioredis';
import { ResultCode } from '../../protocol/constants.js';
import { keys } from '../store/keys.js';
import { coalesceRedisWrites, type Script } from '../store/script.js';
import { parseBillRecord, parseCleared } from './bill-record.js';
import {
  arrearsOf,
  billOrder,
  type Bill,
  type Biller,
  type BillingAccount,
  type BookedPosting,
  type DayPosting,
  type Posting,
  type PostingResult,
  type Reversal,
} from './biller.js';
import { POST_PAYMENT, REVERSE_PAYMENT } from './lua.js';

export const BILLER_SCRIPTS: Script[] = [POST_PAYMENT, REVERSE_PAYMENT];

/** Posting records are read this many at a time for a day's file. */
const BATCH = 500;

export class RedisBiller implements Biller {
  constructor(private readonly redis: Redis | Cluster) {}

  async lookup(account: string): Promise<BillingAccount | null> {
    coalesceRedisWrites(this.redis);
    const [[name, status], records] = await Promise.all([
      this.redis.hmget(keys.account(account), 'name', 'status'),
      this.redis.hgetall(keys.bills(account)),
    ]);
    if (status === null || status === undefined) return null;
    const bills = readBills(records);
    return {
      account,
      holderName: name ?? '',
      status: status === 'open' ? 'open' : 'closed',
      arrearsFen: arrearsOf(bills),
      bills,
    };
  }

  async post(posting: Posting): Promise<PostingResult> {
    const { account, receipt } = posting;
    const reply = await POST_PAYMENT.run(
      this.redis,
      [keys.account(account), keys.bills(account), keys.posting(account, receipt), keys.postings(account)],
      [receipt, posting.amountFen, posting.at, posting.day],
    );
    return this.filed(posting, postingResult(reply));
  }

  async reverse(reversal: Reversal): Promise<PostingResult> {
    const { account, receipt, originalReceipt } = reversal;
    const reply = await REVERSE_PAYMENT.run(
      this.redis,
      [keys.bills(account), keys.posting(account, receipt), keys.postings(account), keys.posting(account, originalReceipt)],
      [receipt, originalReceipt, reversal.amountFen, reversal.at, reversal.day],
    );
    return this.filed(reversal, postingResult(reply));
  }

  /**
   * Recovery settles a transaction through this query and posts nothing when the biller already
   * holds the receipt, so a posting found here is filed under its day too: a gateway that died
   * between a post and its filing would otherwise leave it out of the day's file for good.
   */
  async posting(receipt: string, account: string): Promise<BookedPosting | null> {
    coalesceRedisWrites(this.redis);
    const booked = bookedPosting(receipt, account, await this.redis.hgetall(keys.posting(account, receipt)));
    if (booked !== null) await this.filed(booked, booked);
    return booked;
  }

  async dayPostings(day: number): Promise<DayPosting[]> {
    const members = await this.redis.zrange(keys.billerDay(day), 0, -1);
    const postings: DayPosting[] = [];
    for (let start = 0; start < members.length; start += BATCH) {
      const batch = members.slice(start, start + BATCH).map((member) => {
        const cut = member.indexOf(':');
        return { account: member.slice(0, cut), receipt: member.slice(cut + 1) };
      });
      const hashes = await Promise.all(batch.map((p) => this.redis.hgetall(keys.posting(p.account, p.receipt))));
      batch.forEach((p, i) => {
        const booked = bookedPosting(p.receipt, p.account, hashes[i] ?? {});
        if (booked !== null) {
          const { receipt, account, kind, amountFen, original, at } = booked;
          postings.push({ day: booked.day, receipt, account, kind, amountFen, original, at });
        }
      });
    }
    return postings;
  }

  /**
   * Files an approved posting under its day. A repeat (recovery) files it again, which changes
   * nothing, so a process that died between the two writes leaves no posting out of the day's file.
   */
  private async filed<R extends PostingResult>(posting: { account: string; receipt: string; day: number; at: number }, result: R): Promise<R> {
    if (result.result === ResultCode.APPROVED) {
      await this.redis.zadd(keys.billerDay(posting.day), 'NX', posting.at, `${posting.account}:${posting.receipt}`);
    }
    return result;
  }
}

function postingResult(reply: unknown): PostingResult {
  const [result, arrearsFen, cleared, holderName] = reply as [number, number, string, string | undefined];
  return {
    result: result as ResultCode,
    arrearsFen,
    bills: parseCleared(cleared),
    ...(result === ResultCode.APPROVED && holderName ? { holderName } : {}),
  };
}

function bookedPosting(receipt: string, account: string, hash: Record<string, string>): BookedPosting | null {
  if (hash.result === undefined) return null;
  return {
    receipt,
    account,
    kind: hash.kind === 'reversal' ? 'reversal' : 'payment',
    amountFen: Number(hash.amountFen ?? 0),
    original: hash.original ?? '',
    result: Number(hash.result) as ResultCode,
    arrearsFen: Number(hash.arrearsAfter ?? 0),
    bills: parseCleared(hash.cleared),
    at: Number(hash.at ?? 0),
    day: Number(hash.day ?? 0),
  };
}

/** Bills from their hash, oldest first; a record that does not read is left out (verify names its account). */
export function readBills(records: Record<string, string>): Bill[] {
  const bills: Bill[] = [];
  for (const [billId, record] of Object.entries(records)) {
    const bill = parseBillRecord(billId, record);
    if (bill !== null) bills.push(bill);
  }
  return bills.sort(billOrder);
}

/** The embedded biller: billing accounts kept in Redis beside the gateway's own data (the default). */
import type { Cluster, Redis } from 'ioredis';
import type { ResultCode } from '../../protocol/constants.js';
import type { BillPeriod } from '../../protocol/messages.js';
import { keys } from '../store/keys.js';
import { coalesceRedisWrites, type Script } from '../store/script.js';
import type { Biller, BillingAccount, Posting, PostingResult, Reversal } from './biller.js';
import { POST_PAYMENT, REVERSE_PAYMENT } from './lua.js';

export const BILLER_SCRIPTS: Script[] = [POST_PAYMENT, REVERSE_PAYMENT];

export class RedisBiller implements Biller {
  constructor(private readonly redis: Redis | Cluster) {}

  async lookup(account: string): Promise<BillingAccount | null> {
    coalesceRedisWrites(this.redis);
    const [name, status, arrears, periods] = await this.redis.hmget(
      keys.account(account),
      'name',
      'status',
      'arrearsFen',
      'periods',
    );
    if (status === null) return null;
    return {
      account,
      holderName: name ?? '',
      status: status === 'open' ? 'open' : 'closed',
      arrearsFen: Number(arrears ?? 0),
      periods: parsePeriods(periods),
    };
  }

  async post(posting: Posting): Promise<PostingResult> {
    const { account, receipt } = posting;
    const reply = await POST_PAYMENT.run(
      this.redis,
      [keys.account(account), keys.posting(account, receipt), keys.postings(account)],
      [receipt, posting.amountFen, posting.at],
    );
    return postingResult(reply);
  }

  async reverse(reversal: Reversal): Promise<PostingResult> {
    const { account, receipt, originalReceipt } = reversal;
    const reply = await REVERSE_PAYMENT.run(
      this.redis,
      [
        keys.account(account),
        keys.posting(account, receipt),
        keys.postings(account),
        keys.posting(account, originalReceipt),
      ],
      [receipt, originalReceipt, reversal.amountFen, reversal.at],
    );
    return postingResult(reply);
  }
}

function postingResult(reply: unknown): PostingResult {
  const [result, arrearsFen] = reply as [number, number];
  return { result: result as ResultCode, arrearsFen };
}

/** Oldest first; a missing or malformed list reads as no periods (the arrears still stand). */
function parsePeriods(json: string | null | undefined): BillPeriod[] {
  if (!json) return [];
  try {
    const value: unknown = JSON.parse(json);
    if (!Array.isArray(value)) return [];
    return value
      .filter(
        (p): p is BillPeriod =>
          typeof p === 'object' && p !== null && Number.isInteger(p.period) && Number.isInteger(p.amountFen),
      )
      .map((p) => ({ period: p.period, amountFen: p.amountFen }))
      .sort((x, y) => x.period - y.period);
  } catch {
    return [];
  }
}

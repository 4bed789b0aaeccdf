export type { Biller, BillingAccount, Posting, PostingResult, Reversal } from './biller.js';
export { RedisBiller, BILLER_SCRIPTS } from './redis-biller.js';

export type { Bill, BillClearance, Biller, BillingAccount, BookedPosting, Posting, PostingResult, Reversal } from './biller.js';
export { arrearsOf, billOrder, unpaidPeriods } from './biller.js';
export { RedisBiller, BILLER_SCRIPTS } from './redis-biller.js';

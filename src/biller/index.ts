export type { Bill, BillClearance, Biller, BillingAccount, BookedPosting, DayPosting, Posting, PostingResult, Reversal } from './biller.js';
export { arrearsOf, billOrder, unpaidPeriods } from './biller.js';
export { RedisBiller, BILLER_SCRIPTS } from './redis-biller.js';
export { formatPostingsFile, parsePostingsFile, POSTINGS_FILE_HEADER } from './postings-file.js';

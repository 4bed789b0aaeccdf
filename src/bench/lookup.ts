/**
 * bench:lookup — `txn find` and `txn show` with 10 million transactions in Redis. A private
 * redis-server (no AOF: nothing here is money) is filled with what the core writes per payment
 * for lookups (the transaction record and its lookup-index entries, src/store/lua/lookup-index.ts),
 * plus decline records, as raw pipelined RESP; then the lookups run through the admin API and
 * are timed. Memory per transaction is read from INFO memory. Ends with one JSON line.
 *
 *   npm run bench:lookup                   BENCH_TXNS=10000000 by default
 */
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { createAdmin, type FindQuery } from '../admin/index.js';
import { businessDayOf, DEFAULT_BUSINESS_DAY } from '../core/business-day.js';
import { formatReceipt } from '../../protocol/index.js';
import { ResultCode } from '../../protocol/constants.js';
import { keys } from '../store/keys.js';
import { startRedisServer } from '../ops/redis-server.js';
import { parseScriptArgs } from '../cli/script-args.js';

parseScriptArgs('bench:lookup', `
usage: npm run bench:lookup     (BENCH_TXNS=10000000 transactions, BENCH_MERCHANTS=2000,
                                 BENCH_ACCOUNTS=1000000; two terminals per merchant)
Fills a private redis-server with the transactions' records and lookup-index entries, then times
txn show and txn find (by terminal, merchant, account, day, declined) through the admin API.
The last line of output is one JSON object.
`, {});

const TXNS = Number(process.env.BENCH_TXNS ?? 10_000_000);
const MERCHANTS = Number(process.env.BENCH_MERCHANTS ?? 2_000);
const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 1_000_000);
const TERMINALS_PER_MERCHANT = 2;
const DAYS = 30;
const DAY_MS = 86_400_000;
/** The first business day of the data: 2026-11-01 00:00 local (UTC+8). */
const START = Date.UTC(2026, 9, 31, 16, 0, 0);
const log = (line: string) => process.stderr.write(`bench:lookup: ${line}\n`);

/** A deterministic generator, so two runs fill the same data. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    state ^= state + Math.imul(state ^ (state >>> 7), state | 61);
    return ((state ^ (state >>> 14)) >>> 0) / 4294967296;
  };
}

const merchantId = (i: number) => `M${String(i).padStart(5, '0')}`;
const terminalId = (i: number) => `L${String(i).padStart(7, '0')}`;
const accountOf = (i: number) => String(i).padStart(10, '0');

/** RESP for one command. */
function resp(args: Array<string | number>): string {
  let out = `*${args.length}\r\n`;
  for (const arg of args) {
    const text = String(arg);
    out += `$${Buffer.byteLength(text)}\r\n${text}\r\n`;
  }
  return out;
}

/**
 * Writes commands as fast as Redis takes them: batches of raw RESP on one socket, at most a few
 * batches ahead of the replies (every reply here is one line: an integer or +OK).
 */
class RawPipeline {
  private sent = 0;
  private answered = 0;
  private batch: string[] = [];
  private waiting: (() => void) | null = null;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) this.answered++;
      if (chunk.includes(0x2d)) {
        const text = chunk.toString();
        if (/^-/m.test(text)) throw new Error(`redis refused a command: ${text.split('\n').find((l) => l.startsWith('-'))}`);
      }
      if (this.waiting !== null && this.sent - this.answered < 200_000) {
        const wake = this.waiting;
        this.waiting = null;
        wake();
      }
    });
  }

  static async open(port: number): Promise<RawPipeline> {
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    return new RawPipeline(socket);
  }

  async send(args: Array<string | number>): Promise<void> {
    this.batch.push(resp(args));
    this.sent++;
    if (this.batch.length >= 5_000) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.batch.length > 0) this.socket.write(this.batch.join(''));
    this.batch = [];
    if (this.sent - this.answered >= 400_000) await new Promise<void>((resolve) => (this.waiting = resolve));
  }

  async drain(): Promise<void> {
    await this.flush();
    while (this.answered < this.sent) await new Promise((resolve) => setTimeout(resolve, 20));
    this.socket.end();
  }
}

async function fill(port: number): Promise<{ declined: number; earlyDeclined: number; seconds: number }> {
  const pipe = await RawPipeline.open(port);
  const rand = random(14);
  const started = Date.now();
  for (let m = 0; m < MERCHANTS; m++) {
    const mid = merchantId(m);
    await pipe.send(['SADD', keys.merchants(), mid]);
    await pipe.send(['HSET', keys.merchant(mid), 'id', mid, 'name', `Outlet ${m}`, 'status', 'active', 'floatFen', 10_000_000, 'createdAt', START]);
    for (let k = 0; k < TERMINALS_PER_MERCHANT; k++) {
      const tid = terminalId(m * TERMINALS_PER_MERCHANT + k);
      await pipe.send(['SADD', keys.terminals(mid), tid]);
      await pipe.send(['SET', keys.terminalMerchant(tid), mid]);
      await pipe.send(['HSET', keys.terminal(mid, tid), 'id', tid, 'merchant', mid, 'status', 'active', 'keyVersion', 1, 'hwm', 0, 'badMacs', 0]);
    }
  }
  const terminals = MERCHANTS * TERMINALS_PER_MERCHANT;
  const perTerminal = Math.ceil(TXNS / terminals);
  const spacing = (DAYS * DAY_MS) / perTerminal;
  let written = 0;
  let declined = 0;
  let earlyDeclined = 0;
  // Round by round over the terminals, each terminal's sequence numbers and times increasing.
  for (let n = 1; n <= perTerminal && written < TXNS; n++) {
    for (let t = 0; t < terminals && written < TXNS; t++, written++) {
      const m = Math.floor(t / TERMINALS_PER_MERCHANT);
      const mid = merchantId(m);
      const tid = terminalId(t);
      const receipt = formatReceipt(tid, n);
      const at = Math.floor(START + (n - 1) * spacing + rand() * spacing);
      // Customers pay at their own village's outlet, now and then elsewhere.
      const home = rand() < 0.9;
      const accountIndex = home ? m + MERCHANTS * Math.floor(rand() * (ACCOUNTS / MERCHANTS)) : Math.floor(rand() * ACCOUNTS);
      const account = accountOf(accountIndex);
      const amountFen = 100 + Math.floor(rand() * 50_000);
      const day = businessDayOf(at, DEFAULT_BUSINESS_DAY);
      const roll = rand();
      if (roll < 0.01) {
        // Declined before a transaction (float short): a decline record.
        earlyDeclined++;
        declined++;
        await pipe.send(['HSET', keys.decline(mid, receipt), 'receipt', receipt, 'kind', 'pay', 'terminal', tid, 'seq', n, 'account', account,
          'amountFen', amountFen, 'state', 'declined', 'result', ResultCode.FLOAT_SHORT, 'businessDay', day, 'createdAt', at, 'floatFen', 0]);
        await pipe.send(['ZADD', keys.declinedTxns(mid), at, receipt]);
      } else {
        const biller = roll < 0.02;
        if (biller) declined++;
        await pipe.send(['HSET', keys.transaction(mid, receipt), 'receipt', receipt, 'kind', 'pay', 'terminal', tid, 'seq', n, 'account', account,
          'amountFen', amountFen, 'state', biller ? 'declined' : 'complete', 'businessDay', day, 'createdAt', at, 'floatAfter', 5_000_000,
          'result', biller ? ResultCode.OVERPAYMENT : ResultCode.APPROVED, 'arrearsAfter', 0, 'completedAt', at + 150]);
        if (biller) await pipe.send(['ZADD', keys.declinedTxns(mid), at, receipt]);
      }
      await pipe.send(['ZADD', keys.terminalTxns(mid, tid), at, receipt]);
      await pipe.send(['ZADD', keys.accountTxns(mid, account), at, receipt]);
    }
    if (n % 100 === 0) log(`${written.toLocaleString('en')} transactions written (${Math.round((Date.now() - started) / 1000)} s)`);
  }
  await pipe.drain();
  return { declined, earlyDeclined, seconds: (Date.now() - started) / 1000 };
}

interface Timing {
  query: string;
  runs: number;
  medianMs: number;
  maxMs: number;
  rows: number;
}

async function time(query: string, runs: number, call: (i: number) => Promise<number>): Promise<Timing> {
  const ms: number[] = [];
  let rows = 0;
  for (let i = 0; i < runs; i++) {
    const started = process.hrtime.bigint();
    rows = await call(i);
    ms.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  ms.sort((a, b) => a - b);
  const timing = { query, runs, medianMs: round(ms[Math.floor(ms.length / 2)]!), maxMs: round(ms[ms.length - 1]!), rows };
  log(`${query}: median ${timing.medianMs} ms, max ${timing.maxMs} ms (${runs} runs, ${rows} rows last)`);
  return timing;
}

const round = (x: number) => Math.round(x * 10) / 10;

async function main(): Promise<void> {
  const server = await startRedisServer({ extraArgs: ['--appendonly', 'no'] });
  const redis = server.client();
  try {
    const base = Number((/used_memory:(\d+)/.exec(await redis.info('memory')) ?? [])[1]);
    log(`filling ${TXNS.toLocaleString('en')} transactions over ${MERCHANTS} merchants, ${MERCHANTS * TERMINALS_PER_MERCHANT} terminals, ${ACCOUNTS.toLocaleString('en')} accounts`);
    const filled = await fill(server.port);
    const memory = await redis.info('memory');
    const used = Number((/used_memory:(\d+)/.exec(memory) ?? [])[1]) - base;
    const dbsize = await redis.dbsize();
    log(`filled in ${filled.seconds} s: ${(used / 2 ** 30).toFixed(2)} GiB, ${Math.round(used / TXNS)} bytes a transaction, ${dbsize.toLocaleString('en')} keys`);

    const admin = createAdmin({ redis });
    const rand = random(7);
    const terminals = MERCHANTS * TERMINALS_PER_MERCHANT;
    const perTerminal = Math.ceil(TXNS / terminals);
    const pick = (n: number) => Math.floor(rand() * n);
    const find = async (query: FindQuery) => (await admin.findTxns(query)).transactions.length;
    const timings = [
      await time('txn show RECEIPT', 50, async () => {
        await admin.showTxn(formatReceipt(terminalId(pick(terminals)), 1 + pick(Math.floor(TXNS / terminals))));
        return 1;
      }),
      await time('txn find --terminal', 20, () => find({ terminal: terminalId(pick(terminals)) })),
      await time('txn find --terminal (page 2 by cursor)', 20, async () => {
        const first = await admin.findTxns({ terminal: terminalId(pick(terminals)) });
        return (await admin.findTxns({ terminal: first.transactions[0]!.terminalId, cursor: first.cursor! })).transactions.length;
      }),
      await time('txn find --merchant', 20, () => find({ merchant: merchantId(pick(MERCHANTS)) })),
      await time('txn find --merchant --day', 20, () => find({ merchant: merchantId(pick(MERCHANTS)), day: 20261101 + pick(DAYS - 1) })),
      await time('txn find --merchant --declined', 20, () => find({ merchant: merchantId(pick(MERCHANTS)), declined: true })),
      await time('txn find --account', 20, () => find({ account: accountOf(pick(ACCOUNTS)) })),
      await time('txn find --day', 10, () => find({ day: 20261101 + pick(DAYS - 1) })),
      await time('txn find --day --declined', 10, () => find({ day: 20261101 + pick(DAYS - 1), declined: true })),
    ];
    const slowest = Math.max(...timings.map((t) => t.maxMs));
    process.stdout.write(
      `${JSON.stringify({
        bench: 'lookup',
        transactions: TXNS,
        merchants: MERCHANTS,
        terminals,
        accounts: ACCOUNTS,
        perTerminal,
        declined: filled.declined,
        earlyDeclined: filled.earlyDeclined,
        fillSeconds: filled.seconds,
        usedMemoryBytes: used,
        bytesPerTransaction: Math.round(used / TXNS),
        keys: dbsize,
        timings,
        slowestMs: slowest,
        underOneSecond: slowest < 1000,
      })}\n`,
    );
  } finally {
    redis.disconnect();
    await server.stop();
  }
}

await main();

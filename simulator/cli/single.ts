/**
 * The single-shot commands: one terminal, one request, one answer, like a clerk pressing a key.
 * The terminal's flash (next seq, unfinished transactions, receipts) lives in --state DIR, so a
 * transaction left unanswered by one run is finished by the next before anything else.
 * Exit codes: 0 approved, 1 declined, 2 usage or connection failure.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import {
  ACCOUNT_PATTERN,
  BATTERY_UNKNOWN,
  GSM_SIGNAL_MAX,
  GSM_SIGNAL_UNKNOWN,
  MessageType,
  PowerSource,
  PrinterState,
  RECEIPT_PATTERN,
  RESULT_NAME,
  ResultCode,
  TERMINAL_ID_PATTERN,
  TERMINAL_KEY_SIZE,
  decodePayload,
  type BillPeriod,
  type MessageMap,
  type PayResponse,
  type StatusResponse,
  type TerminalHealth,
} from '../../protocol/index.js';
import { renderReceipt } from '../terminal/receipt.js';
import { formatPeriod, formatYuan, parseYuan } from '../../src/admin/index.js';
import { openLink, type CutMoment, type FaultPlan, type LinkProxy, linkProfile } from '../link/index.js';
import { createRandom } from '../link/prng.js';
import { DEFAULT_HEALTH, FileStateStore, GatewayUnreachable, SignInRefused, Terminal, type Answer } from '../terminal/index.js';
import { readKeySource } from '../../src/admin/keys-file.js';

export const EXIT_APPROVED = 0;
export const EXIT_DECLINED = 1;
export const EXIT_FAILURE = 2;

/** A mistake in the command line: printed with the usage hint, exit 2. */
export class UsageError extends Error {}

export interface TerminalFlags {
  host: string;
  port: string;
  terminal?: string;
  key?: string;
  keysFile?: string;
  keyFile?: string;
  state: string;
  seq?: string;
  link?: string;
  seed?: string;
  timeout: string;
  deadline: string;
  cut?: string;
  halfOpen?: string;
  json?: boolean;
  signal?: string;
  power?: string;
  battery?: string;
  printer?: string;
  firmware?: string;
}

export function addTerminalFlags(command: Command): Command {
  return command
    .option('--host <host>', 'gateway host', process.env.AIRCHARGE_HOST ?? '127.0.0.1')
    .option('--port <port>', 'gateway port', process.env.AIRCHARGE_PORT ?? '7000')
    .option('--terminal <id>', 'terminal id, 8 characters [0-9A-Z] (or AIRCHARGE_TERMINAL)', process.env.AIRCHARGE_TERMINAL)
    .option('--key <hex>', 'terminal key, 64 hex digits, or - to read it from stdin (or AIRCHARGE_TERMINAL_KEY)', process.env.AIRCHARGE_TERMINAL_KEY)
    .option('--key-file <file>', "read the terminal's key from a file: the key alone, or a keys file of `aircharge terminal import --keys-out`")
    .option('--keys-file <file>', 'the same as --key-file')
    .option('--state <dir>', "the terminal's flash: next seq, unfinished transactions, receipts", process.env.AIRCHARGE_SIM_STATE ?? join(homedir(), '.aircharge-sim'))
    .option('--seq <n>', 'send the request under this sequence number (testing)')
    .option('--link <profile>', 'emulate a link: good, gprs or bad')
    .option('--seed <n>', 'seed of the link emulator and backoff jitter', '1')
    .option('--timeout <ms>', 'wait this long for an answer before retrying', '5000')
    .option('--deadline <ms>', 'give up on a request after this long', '60000')
    .option('--cut <moment>', 'cut the link once at this request: before-request or after-request-before-response')
    .option('--half-open <moment>', 'let the link go silent once at this request (same moments as --cut)')
    .option('--signal <csq>', 'GSM signal its heartbeats report, AT+CSQ 0..31 or 99 unknown (default 20, or the --link profile\'s: bad 7)')
    .option('--power <source>', 'power source its heartbeats report: mains, battery or unknown', 'mains')
    .option('--battery <percent>', 'battery charge its heartbeats report, 0..100 or 255 unknown', '100')
    .option('--printer <state>', `printer state its heartbeats report: ${Object.keys(PRINTER_STATES).join(', ')}`, 'ok')
    .option('--firmware <version>', 'firmware version it signs in with (up to 8 printable ASCII)', 'SIM-1.0')
    .option('--json', 'print one JSON object');
}

/** The printer states as typed on the command line. */
const PRINTER_STATES: Readonly<Record<string, PrinterState>> = {
  ok: PrinterState.OK,
  'paper-low': PrinterState.PAPER_LOW,
  'paper-out': PrinterState.PAPER_OUT,
  'cover-open': PrinterState.COVER_OPEN,
  fault: PrinterState.FAULT,
  unknown: PrinterState.UNKNOWN,
};
const POWER_SOURCES: Readonly<Record<string, PowerSource>> = { mains: PowerSource.MAINS, battery: PowerSource.BATTERY, unknown: PowerSource.UNKNOWN };

/** The health the flags describe; the signal defaults to the link profile's. */
function healthOf(flags: TerminalFlags, profileSignal: number | undefined): TerminalHealth {
  const power = POWER_SOURCES[flags.power ?? 'mains'];
  if (power === undefined) throw new UsageError(`--power must be one of ${Object.keys(POWER_SOURCES).join(', ')}`);
  const printer = PRINTER_STATES[flags.printer ?? 'ok'];
  if (printer === undefined) throw new UsageError(`--printer must be one of ${Object.keys(PRINTER_STATES).join(', ')}`);
  const signal = integer(flags.signal, '--signal') ?? profileSignal ?? DEFAULT_HEALTH.signal;
  if (signal > GSM_SIGNAL_MAX && signal !== GSM_SIGNAL_UNKNOWN) throw new UsageError(`--signal must be 0..${GSM_SIGNAL_MAX} or ${GSM_SIGNAL_UNKNOWN}`);
  const battery = integer(flags.battery ?? '100', '--battery')!;
  if (battery > 100 && battery !== BATTERY_UNKNOWN) throw new UsageError(`--battery must be 0..100 or ${BATTERY_UNKNOWN}`);
  return { signal, power, battery, printer };
}

function integer(text: string | undefined, name: string, min = 0): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[0-9]+$/.test(text) || Number(text) < min || Number(text) > 0xffffffff) {
    throw new UsageError(`${name} must be a whole number ≥ ${min}: ${JSON.stringify(text)}`);
  }
  return Number(text);
}

function moment(text: string | undefined, name: string): CutMoment | undefined {
  if (text === undefined) return undefined;
  if (text !== 'before-request' && text !== 'after-request-before-response') {
    throw new UsageError(`${name} must be before-request or after-request-before-response`);
  }
  return text;
}

export function parseAccount(text: string): string {
  if (!ACCOUNT_PATTERN.test(text)) throw new UsageError(`account must be exactly 10 digits: ${JSON.stringify(text)}`);
  return text;
}

export function parseAmount(text: string): number {
  try {
    return parseYuan(text);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export interface OpenedTerminal {
  terminal: Terminal;
  link: LinkProxy | null;
  close(): Promise<void>;
}

/** The terminal the flags describe, connected through the link emulator if one is asked for. */
export async function openTerminal(flags: TerminalFlags, faultType: number | null): Promise<OpenedTerminal> {
  const terminalId = flags.terminal;
  if (!terminalId || !TERMINAL_ID_PATTERN.test(terminalId)) throw new UsageError('--terminal must be 8 characters [0-9A-Z]');
  const keyFile = flags.keyFile ?? flags.keysFile;
  if (keyFile !== undefined && flags.key !== undefined && flags.key !== process.env.AIRCHARGE_TERMINAL_KEY) {
    throw new UsageError('give --key or --key-file, not both');
  }
  let hexKey = flags.key;
  const source = keyFile ?? (flags.key === '-' ? '-' : undefined);
  if (source !== undefined) {
    try {
      hexKey = readKeySource(source, terminalId).toString('hex');
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  if (!hexKey || !/^[0-9a-fA-F]+$/.test(hexKey) || hexKey.length !== TERMINAL_KEY_SIZE * 2) {
    throw new UsageError(`--key must be ${TERMINAL_KEY_SIZE * 2} hex digits (or give --keys-file)`);
  }
  const port = integer(flags.port, '--port', 1)!;
  const seed = integer(flags.seed, '--seed')!;
  const cut = moment(flags.cut, '--cut');
  const halfOpen = moment(flags.halfOpen, '--half-open');
  let gateway = { host: flags.host, port };
  let link: LinkProxy | null = null;
  let profileSignal: number | undefined;
  if (flags.link || cut || halfOpen) {
    const faults: FaultPlan[] = [];
    const on = faultType === null ? {} : { type: faultType };
    if (cut) faults.push({ mode: 'cut', at: cut, connection: 1, ...on });
    if (halfOpen) faults.push({ mode: 'half-open', at: halfOpen, connection: 1, ...on });
    let profile;
    try {
      profile = linkProfile(flags.link ?? 'good');
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    profileSignal = profile.signal;
    const opened = await openLink({ target: gateway, profile, seed, faults });
    link = opened.proxy;
    gateway = { host: opened.host, port: opened.port };
  }
  const terminal = new Terminal({
    terminalId,
    key: Buffer.from(hexKey, 'hex'),
    gateway,
    store: new FileStateStore(flags.state, terminalId),
    responseTimeoutMs: integer(flags.timeout, '--timeout', 1)!,
    requestDeadlineMs: integer(flags.deadline, '--deadline', 1)!,
    heartbeatSec: 0,
    random: createRandom(seed),
    health: healthOf(flags, profileSignal),
    firmware: flags.firmware ?? 'SIM-1.0',
  });
  return {
    terminal,
    link,
    async close() {
      terminal.close();
      await link?.close();
    },
  };
}

/** JSON-friendly values: buffers as hex, a STATUS's stored answer decoded. */
export function responseFields(response: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(response as Record<string, unknown>)) {
    if (name === 'result') continue;
    out[name] = Buffer.isBuffer(value) ? value.toString('hex') : value;
  }
  const status = response as Partial<StatusResponse>;
  if (status.originalPayload && status.originalType && status.originalPayload.length > 0) {
    const original = decodePayload(status.originalType as keyof MessageMap, status.originalPayload) as unknown as Record<string, unknown>;
    out.original = { code: nameOfResult(original.result as number), ...responseFields(original) };
  }
  return out;
}

function nameOfResult(code: number): string {
  return RESULT_NAME.get(code) ?? String(code);
}

export function answerJson(terminalId: string, answer: Answer<unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ok: answer.code === ResultCode.APPROVED,
    code: answer.name,
    seq: answer.seq,
    terminal: terminalId,
    ...responseFields(answer.response),
    attempts: answer.attempts,
    latencyMs: answer.latencyMs,
    ...extra,
  };
}

/** One line a clerk reads. */
export function answerText(answer: Answer<unknown>): string {
  const fields = responseFields(answer.response);
  const parts = [`${answer.name}  seq ${answer.seq}`];
  for (const [name, value] of Object.entries(fields)) {
    if (name === 'nonce' || name === 'originalPayload') continue;
    if (typeof value === 'number' && name.endsWith('Fen')) {
      // A refusal leaves the money fields it does not fill at zero (PROTOCOL.md §3): not a balance.
      if (value !== 0 || answer.code === ResultCode.APPROVED) parts.push(`${name.replace(/Fen$/, '')} ¥${formatYuan(value, { grouped: true })}`);
    } else if (name === 'periods' && Array.isArray(value)) {
      if (value.length > 0) parts.push(`periods ${(value as BillPeriod[]).map((p) => `${formatPeriod(p.period)} ¥${formatYuan(p.amountFen, { grouped: true })}`).join(', ')}`);
    } else if (Array.isArray(value)) parts.push(`${name} ${value.map((v) => JSON.stringify(v)).join(' ')}`);
    else if (value && typeof value === 'object') parts.push(`${name} ${JSON.stringify(value)}`);
    else if (value !== '' && value !== 0) parts.push(`${name} ${value}`);
  }
  if (answer.attempts > 1) parts.push(`(${answer.attempts} attempts)`);
  return parts.join('  ');
}

type Action = (terminal: Terminal, seq: number | undefined) => Promise<Answer<unknown>>;

/** The terminal prints local time: the gateway's zone (AIRCHARGE_UTC_OFFSET, minutes east of UTC), else China's. */
const RECEIPT_UTC_OFFSET_MINUTES = Number(process.env.AIRCHARGE_UTC_OFFSET ?? 480) || 480;

/** The thermal receipt of an approved PAY or CORRECT (PROTOCOL.md §7.7), or null for anything else. */
function receiptOf(terminal: Terminal, answer: Answer<unknown>): string[] | null {
  const response = answer.response as Partial<PayResponse>;
  if (answer.code !== ResultCode.APPROVED || typeof response.receipt !== 'string' || response.receipt === '') return null;
  const record = terminal.receipt(response.receipt);
  if (record === undefined) return null;
  return renderReceipt({
    kind: record.kind,
    merchantKind: terminal.merchant.kind,
    merchantName: terminal.merchant.name,
    terminalId: terminal.terminalId,
    receipt: record.receipt,
    ...(record.original === undefined ? {} : { original: record.original }),
    at: terminal.now(),
    utcOffsetMinutes: RECEIPT_UTC_OFFSET_MINUTES,
    businessDay: response.businessDay ?? 0,
    account: record.account,
    holderName: response.holderName ?? '',
    periods: response.periods ?? [],
    amountFen: record.amountFen,
    arrearsFen: response.arrearsFen ?? 0,
    flags: response.flags ?? 0,
  });
}

/** Runs one command: finish what flash holds, do the request, print, and set the exit code. */
export async function runSingle(flags: TerminalFlags, faultType: number | null, action: Action): Promise<number> {
  const seq = integer(flags.seq, '--seq', 1);
  const opened = await openTerminal(flags, faultType);
  const { terminal } = opened;
  try {
    const resumed = terminal.snapshot.pending.length > 0 ? await terminal.resumePending() : [];
    const answer = await action(terminal, seq);
    const extra: Record<string, unknown> = {};
    const printed = receiptOf(terminal, answer);
    if (printed !== null) extra.printedReceipt = printed;
    if (resumed.length > 0) extra.resumed = resumed.map((r) => ({ seq: r.seq, code: r.name, receipt: r.response.receipt }));
    if (opened.link) extra.link = opened.link.events.filter((e) => e.event === 'cut' || e.event === 'half-open');
    if (flags.json) process.stdout.write(`${JSON.stringify(answerJson(terminal.terminalId, answer, extra))}\n`);
    else {
      for (const r of resumed) process.stdout.write(`finished from flash: ${answerText(r)}\n`);
      process.stdout.write(`${answerText(answer)}\n`);
      if (printed !== null) process.stdout.write(`${printed.join('\n')}\n`);
    }
    return answer.code === ResultCode.APPROVED ? EXIT_APPROVED : EXIT_DECLINED;
  } catch (error) {
    if (error instanceof SignInRefused) {
      const name = nameOfResult(error.result);
      if (flags.json) process.stdout.write(`${JSON.stringify({ ok: false, code: name, seq: null, terminal: terminal.terminalId, stage: 'sign-in' })}\n`);
      else process.stdout.write(`sign-in refused: ${name}\n`);
      return EXIT_DECLINED;
    }
    if (error instanceof GatewayUnreachable) {
      const pending = terminal.snapshot.pending.map((p) => p.seq);
      const message = `${error.message}${pending.length ? `; unfinished in flash: seq ${pending.join(', ')}` : ''}`;
      if (flags.json) process.stdout.write(`${JSON.stringify({ ok: false, code: 'UNREACHABLE', seq: null, error: message })}\n`);
      else process.stderr.write(`aircharge-sim: ${message}\n`);
      return EXIT_FAILURE;
    }
    throw error;
  } finally {
    await opened.close();
  }
}

export function registerSingleCommands(program: Command, run: (task: () => Promise<number>) => Promise<void>): void {
  addTerminalFlags(program.command('signin').description('sign in and show what the gateway says')).action((flags: TerminalFlags) =>
    run(() => runSingle(flags, MessageType.SIGN_IN, (t) => t.signIn())),
  );

  addTerminalFlags(
    program.command('heartbeat').description("send one heartbeat with the terminal's health (--signal, --power, --battery, --printer)"),
  ).action((flags: TerminalFlags) => run(() => runSingle(flags, MessageType.HEARTBEAT, (t) => t.heartbeat())));

  addTerminalFlags(program.command('inquiry').argument('<account>', '10-digit billing account').description('what does this account owe')).action(
    (account: string, flags: TerminalFlags) =>
      run(() => {
        const checked = parseAccount(account);
        return runSingle(flags, MessageType.INQUIRY, (t, seq) => t.inquiry(checked, seqOption(seq)));
      }),
  );

  addTerminalFlags(
    program.command('pay').argument('<account>', '10-digit billing account').argument('<amount>', 'yuan, e.g. 35.50').description('take a payment'),
  ).action((account: string, amount: string, flags: TerminalFlags) =>
    run(() => {
      const checked = parseAccount(account);
      const fen = parseAmount(amount);
      return runSingle(flags, MessageType.PAY, (t, seq) => t.pay(checked, fen, seqOption(seq)));
    }),
  );

  addTerminalFlags(
    program
      .command('correct')
      .argument('<receipt>', 'receipt of the payment to undo')
      .option('--account <account>', "override the account (default: the receipt's, from the state dir)")
      .option('--amount <yuan>', "override the amount (default: the receipt's)")
      .description('undo a payment made by mistake today'),
  ).action((receipt: string, flags: TerminalFlags & { account?: string; amount?: string }) =>
    run(() => {
      if (!RECEIPT_PATTERN.test(receipt)) throw new UsageError(`receipt must be 8 characters [0-9A-Z] and 10 digits: ${JSON.stringify(receipt)}`);
      const account = flags.account === undefined ? undefined : parseAccount(flags.account);
      const amountFen = flags.amount === undefined ? undefined : parseAmount(flags.amount);
      return runSingle(flags, MessageType.CORRECT, (t, seq) => {
        const known = t.receipt(receipt);
        const resolvedAccount = account ?? known?.account;
        const resolvedAmount = amountFen ?? known?.amountFen;
        if (resolvedAccount === undefined || resolvedAmount === undefined) {
          throw new UsageError(`receipt ${receipt} is not in ${flags.state}: give --account and --amount`);
        }
        return t.correct(receipt, resolvedAccount, resolvedAmount, seqOption(seq));
      });
    }),
  );

  addTerminalFlags(program.command('status').argument('<seq>', 'sequence number of the PAY or CORRECT to ask about').description('what became of a transaction')).action(
    (querySeq: string, flags: TerminalFlags) =>
      run(() => {
        const checked = integer(querySeq, 'SEQ', 1)!;
        return runSingle(flags, MessageType.STATUS, (t, seq) => t.status(checked, seqOption(seq)));
      }),
  );

  addTerminalFlags(
    program.command('settle').option('--day <YYYYMMDD>', 'business day (default: today, from sign-in)').description("send today's counts and totals from the state dir"),
  ).action((flags: TerminalFlags & { day?: string }) =>
    run(() => {
      const day = integer(flags.day, '--day');
      return runSingle(flags, MessageType.SETTLE, (t, seq) => t.settle({ ...seqOption(seq), ...(day === undefined ? {} : { businessDay: day }) }));
    }),
  );
}

function seqOption(seq: number | undefined): { seq?: number } {
  return seq === undefined ? {} : { seq };
}

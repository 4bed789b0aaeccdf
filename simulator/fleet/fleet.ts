/**
 * A fleet: N terminals, each on its own emulated link, each doing what a clerk does (inquiries,
 * payments, now and then a correction) with think time in between and heartbeats while idle.
 * A collector's terminal walks door to door instead (collector.ts), through coverage holes, and
 * his cash is handed in at the office during and at the end of the day.
 * Every terminal keeps its own ledger (its flash) of what it saw approved; after the run each one
 * finishes its unfinished transactions, and the ledgers are what reconciliation checks.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { RESULT_NAME, ResultCode } from '../../protocol/index.js';
import { deriveRandom, type Random } from '../link/prng.js';
import { openLink, type CoverageHoles, type LinkProfile, type LinkProxy } from '../link/index.js';
import { LatencyRecorder } from '../report/latency.js';
import { DEFAULT_HEALTH, GatewayUnreachable, MemoryStateStore, SignInRefused, Terminal, dayTotals, type Answer, type TerminalState } from '../terminal/index.js';
import { door, handIn, type Office, type Remittance, type Round } from './collector.js';
import type { ProvisionedTerminal } from './seed.js';

export type Operation = 'inquiry' | 'pay' | 'correct';

export interface Mix {
  inquiry: number;
  pay: number;
  correct: number;
}

export interface FleetOptions {
  gateway: { host: string; port: number };
  terminals: ProvisionedTerminal[];
  accounts: string[];
  durationSec: number;
  /** null: straight to the gateway. */
  profile: LinkProfile | null;
  seed: number;
  mix: Mix;
  /** Mean pause between two requests of one terminal. */
  thinkMs: number;
  amountFen: { min: number; max: number };
  responseTimeoutMs: number;
  /** Give up on one request after this long (it stays in flash). Default max(30 s, 6 timeouts). */
  requestDeadlineMs?: number;
  heartbeatSec?: number;
  /** After the run: how long terminals get to finish their unfinished transactions. */
  drainMs: number;
  /** After the drain, every terminal settles its day (fresh terminals only: their ledger is the whole day). */
  settle?: boolean;
  onAnswer?: (operation: Operation, answer: Answer<unknown>) => void;
  /** How the collectors among the terminals work: needed when there are any. */
  collectors?: {
    /** Coverage holes on each collector's link, on top of the profile (with a profile only). */
    holes: CoverageHoles;
    /** Where their cash is handed in (the operator API's remit). */
    office: Office;
  };
}

/** What one terminal saw: its flash at the end. */
export interface Ledger {
  terminalId: string;
  merchantId: string;
  kind: 'outlet' | 'collector';
  state: TerminalState;
  /** A collector's hand-ins at the office, in order (none for an outlet). */
  remits: Remittance[];
}

export interface FleetResult {
  durationMs: number;
  /** Per operation, per result code name (UNREACHABLE: no answer before the deadline). */
  counts: Record<Operation, Record<string, number>>;
  latency: LatencyRecorder;
  events: { retransmits: number; timeouts: number; reissued: number; reconnects: number; notices: number; cuts: number; halfOpens: number; holes: number };
  ledgers: Ledger[];
  /** Terminals the gateway refused at sign-in, with the code. */
  refused: Array<{ terminalId: string; code: string }>;
  /** End of day: each terminal's SETTLE of its own counts (APPROVED = the gateway agrees). */
  settle: { ran: boolean; balanced: number; disagreements: string[] };
}

export function parseMix(text: string): Mix {
  const parts = text.split(':');
  if (parts.length !== 3 || parts.some((p) => !/^[0-9]+$/.test(p))) throw new Error(`--mix must be three whole numbers inquiry:pay:correct, got ${JSON.stringify(text)}`);
  const [inquiry, pay, correct] = parts.map(Number) as [number, number, number];
  if (inquiry + pay + correct === 0) throw new Error('--mix must not be all zero');
  return { inquiry, pay, correct };
}

export async function runFleet(options: FleetOptions): Promise<FleetResult> {
  const result: FleetResult = {
    durationMs: 0,
    counts: { inquiry: {}, pay: {}, correct: {} },
    latency: new LatencyRecorder(),
    events: { retransmits: 0, timeouts: 0, reissued: 0, reconnects: 0, notices: 0, cuts: 0, halfOpens: 0, holes: 0 },
    ledgers: [],
    refused: [],
    settle: { ran: Boolean(options.settle), balanced: 0, disagreements: [] },
  };
  const collectors = options.terminals.filter((t) => t.kind === 'collector');
  if (collectors.length > 0 && !options.collectors) throw new Error('collectors among the terminals but no collectors options (holes, office)');
  const links: LinkProxy[] = [];
  const terminals: Terminal[] = [];
  const remits = options.terminals.map((): Remittance[] => []);
  for (const [index, provisioned] of options.terminals.entries()) {
    let gateway = options.gateway;
    if (options.profile) {
      const holes = provisioned.kind === 'collector' ? { holes: options.collectors!.holes } : {};
      const link = await openLink({ target: options.gateway, profile: options.profile, seed: options.seed + index, ...holes });
      links.push(link.proxy);
      gateway = { host: link.host, port: link.port };
    }
    let connections = 0;
    terminals.push(
      new Terminal({
        terminalId: provisioned.terminalId,
        key: provisioned.key,
        gateway,
        store: new MemoryStateStore(provisioned.terminalId),
        responseTimeoutMs: options.responseTimeoutMs,
        requestDeadlineMs: options.requestDeadlineMs ?? Math.max(30_000, options.responseTimeoutMs * 6),
        random: deriveRandom(options.seed, `backoff:${provisioned.terminalId}`),
        // Its heartbeats report the signal of the link it lives on (`bad`: weak).
        ...(options.profile ? { health: { ...DEFAULT_HEALTH, signal: options.profile.signal } } : {}),
        ...(options.heartbeatSec === undefined ? {} : { heartbeatSec: options.heartbeatSec }),
        onEvent: (event) => {
          if (event.kind === 'retransmit') result.events.retransmits += 1;
          else if (event.kind === 'timeout') result.events.timeouts += 1;
          else if (event.kind === 'reissue') result.events.reissued += 1;
          else if (event.kind === 'notice') result.events.notices += 1;
          else if (event.kind === 'connected' && ++connections > 1) result.events.reconnects += 1;
        },
      }),
    );
  }

  const ask = <T>(operation: Operation, request: () => Promise<Answer<T>>): Promise<Answer<T>> => noted(result, options, operation, request);
  // A collector walks his own stretch of the accounts: the next doors of the street.
  const rounds = new Map<number, Round>();
  for (const [index, provisioned] of options.terminals.entries()) {
    if (provisioned.kind !== 'collector') continue;
    const n = collectors.indexOf(provisioned);
    const stretch = Math.max(1, Math.floor(options.accounts.length / collectors.length));
    const route = options.accounts.slice(n * stretch, n * stretch + stretch);
    const correctShare = options.mix.correct / (options.mix.inquiry + options.mix.pay + options.mix.correct);
    rounds.set(index, { merchantId: provisioned.merchantId, route, correctShare, office: options.collectors!.office, remits: remits[index]!, ask });
  }

  const started = Date.now();
  const end = started + options.durationSec * 1000;
  try {
    await Promise.all(
      terminals.map((terminal, index) => {
        const random = deriveRandom(options.seed, `clerk:${index}`);
        const round = rounds.get(index);
        let doorNumber = 0;
        const step = round
          ? () => door(terminal, round, random, doorNumber++)
          : () => perform(terminal, pick(options.mix, random), options, random, ask);
        return day(terminal, step, options, result, end, random);
      }),
    );
    // The run is over; what is still in flash gets finished, as firmware does before settling.
    await Promise.all(terminals.map((terminal) => terminal.resumePending(options.drainMs).catch(() => [])));
    // Back at the office at the end of the day, each collector hands in his cash.
    await Promise.all([...rounds].map(([index, round]) => handIn(terminals[index]!, round, 'end-of-day')));
    if (options.settle) await Promise.all(terminals.map((terminal) => settle(terminal, result)));
  } finally {
    result.durationMs = Date.now() - started;
    for (const [index, terminal] of terminals.entries()) {
      const { merchantId, kind = 'outlet' } = options.terminals[index]!;
      result.ledgers.push({ terminalId: terminal.terminalId, merchantId, kind, state: terminal.snapshot, remits: remits[index]! });
      terminal.close();
    }
    for (const link of links) {
      await link.close();
      result.events.cuts += link.events.filter((e) => e.event === 'cut').length;
      result.events.halfOpens += link.events.filter((e) => e.event === 'half-open').length;
      result.events.holes += link.events.filter((e) => e.event === 'hole').length;
    }
  }
  return result;
}

/** Sends one request and notes its answer (or that none came before the deadline) in the figures. */
async function noted<T>(result: FleetResult, options: FleetOptions, operation: Operation, request: () => Promise<Answer<T>>): Promise<Answer<T>> {
  try {
    const answer = await request();
    const counts = result.counts[operation];
    counts[answer.name] = (counts[answer.name] ?? 0) + 1;
    result.latency.record(answer.latencyMs);
    options.onAnswer?.(operation, answer);
    return answer;
  } catch (error) {
    if (error instanceof GatewayUnreachable) result.counts[operation].UNREACHABLE = (result.counts[operation].UNREACHABLE ?? 0) + 1;
    throw error;
  }
}

/** The terminal's own counts of the day against the gateway's: SETTLE, as firmware ends a day. */
async function settle(terminal: Terminal, result: FleetResult): Promise<void> {
  try {
    const answer = await terminal.settle();
    if (answer.code === ResultCode.APPROVED) result.settle.balanced += 1;
    else result.settle.disagreements.push(`${terminal.terminalId}: settle ${answer.name}, terminal ${JSON.stringify(dayTotals(terminal.snapshot, terminal.businessDay))}, gateway ${JSON.stringify(answer.response)}`);
  } catch (error) {
    result.settle.disagreements.push(`${terminal.terminalId}: settle got no answer (${(error as Error).message})`);
  }
}

/**
 * One terminal's day: think, take the next step (a clerk's request, a collector's door), until the
 * run ends. A step notes its own answers; one that got no answer before its deadline is counted
 * UNREACHABLE there, and the day goes on.
 */
async function day(terminal: Terminal, step: () => Promise<unknown>, options: FleetOptions, result: FleetResult, end: number, random: Random): Promise<void> {
  // Terminals do not all start at the same millisecond in a real network either.
  await sleep(random.next() * Math.min(options.thinkMs, 1000));
  while (Date.now() < end) {
    try {
      await step();
    } catch (error) {
      if (error instanceof SignInRefused) {
        result.refused.push({ terminalId: terminal.terminalId, code: RESULT_NAME.get(error.result) ?? String(error.result) });
        return;
      }
      if (!(error instanceof GatewayUnreachable)) throw error;
    }
    const pause = options.thinkMs * (0.5 + random.next());
    await sleep(Math.max(0, Math.min(pause, end - Date.now())));
  }
}

/** A clerk's request at the counter. */
async function perform(
  terminal: Terminal,
  operation: Operation,
  options: FleetOptions,
  random: Random,
  ask: <T>(operation: Operation, request: () => Promise<Answer<T>>) => Promise<Answer<T>>,
): Promise<unknown> {
  // Firmware finishes what its flash holds before it takes the next customer.
  if (terminal.snapshot.pending.length > 0) await terminal.resumePending();
  const account = options.accounts[random.int(0, options.accounts.length - 1)]!;
  if (operation === 'inquiry') return ask(operation, () => terminal.inquiry(account));
  if (operation === 'correct') {
    // A payment made today by this terminal and not yet undone: the clerk keyed the wrong amount.
    const state = terminal.snapshot;
    const undone = new Set(state.receipts.filter((r) => r.kind === 'correct').map((r) => r.original));
    const candidates = state.receipts.filter((r) => r.kind === 'pay' && r.businessDay === terminal.businessDay && !undone.has(r.receipt));
    const original = candidates[random.int(0, candidates.length - 1)];
    if (original) return ask(operation, () => terminal.correct(original.receipt, original.account, original.amountFen));
  }
  const amountFen = random.int(options.amountFen.min, options.amountFen.max);
  return ask('pay', () => terminal.pay(account, amountFen));
}

function pick(mix: Mix, random: Random): Operation {
  const roll = random.next() * (mix.inquiry + mix.pay + mix.correct);
  if (roll < mix.inquiry) return 'inquiry';
  if (roll < mix.inquiry + mix.pay) return 'pay';
  return 'correct';
}

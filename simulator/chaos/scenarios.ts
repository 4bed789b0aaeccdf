/**
 * The fault scenarios. Each one names the gateway instances it needs, how long its fleet runs,
 * and the faults it injects while the fleet pays: at seeded moments, so that a run can be
 * repeated. The runner (run.ts) does the rest: the fleet over the `bad` link, then the books.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Random } from '../link/prng.js';
import { collectorsSigkill } from './collectors.js';
import type { ChaosStack } from './stack.js';
import type { Admin } from '../../src/admin/index.js';
import type { DayPosting } from '../../src/biller/biller.js';
import type { SeededNetwork } from '../fleet/seed.js';

export interface FaultContext {
  stack: ChaosStack;
  random: Random;
  /** When the fleet stops taking new customers (epoch ms): faults end before it. */
  end: number;
  short: boolean;
  /** Adds to one of the scenario's own figures (kills, restarts, ...). */
  count(figure: string, by?: number): void;
  /** Marks a moment of the run (epoch ms) for the scenario's checks. */
  mark(name: string): void;
  /** Payments and corrections the terminals have seen approved so far. */
  approvals(): number;
}

export interface Scenario {
  name: string;
  description: string;
  instances: string[];
  /** Collectors walking door to door beside the outlets (simulator/fleet/collector.ts); default none. */
  collectors?: number;
  /** Seconds of traffic, given how long the first gateway took to start on this machine. */
  durationSec(short: boolean, startupMs: number): number;
  inject(context: FaultContext): Promise<void>;
  /** Extra checks of what the terminals were told and when: one line per failure. */
  check?(run: RunSeen): string[];
  /** A system of its own run beside the stack (the reference biller: biller-scenarios.ts), started first. */
  attach?(): Promise<Attachment>;
}

/**
 * A process a scenario runs beside the stack, with its own leg of the books: the gateways are
 * started with its arguments, it is told the seeded network, and after the fleet it settles what it
 * still owes, gives its postings to the fleet's reconciliation and checks its own leg.
 */
export interface Attachment {
  gatewayArgs: string[];
  seeded(network: SeededNetwork): Promise<void>;
  /** After the fleet, before the books: waits for what is still owed (a queue, transactions in doubt); one line per problem. */
  settle(admin: Admin): Promise<string[]>;
  /** The day's postings as it booked them, for the fleet's reconciliation. */
  dayPostings(day: number): Promise<DayPosting[]>;
  /** Its leg of the books, checked as an operator would (a CLI run); one line per problem. */
  check(day: number, operatorRedisUrl: string): Promise<string[]>;
  stop(): Promise<void>;
}

export interface RunSeen {
  /** Every final answer with its arrival time. */
  answers: AnswerSeen[];
  /** The marked moments (the last of each name). */
  marks: Map<string, number>;
  faults: Record<string, number>;
}

export interface AnswerSeen {
  at: number;
  operation: string;
  result: string;
}

/** Options a test passes to make a scenario longer or harder than its defaults. */
export interface ScenarioTuning {
  /**
   * gateway-sigkill: kills to do. Without a durationSec, the fleet runs long enough for them on
   * this machine (each one costs a gateway start); they stop when the fault window ends.
   */
  kills?: number;
  /** gateway-sigkill: the pause between a restart and the next kill, ms. */
  killPauseMs?: [number, number];
  durationSec?: number;
  /** redis-restart: how Redis is stopped, once per entry. */
  redisSignals?: Array<'SIGKILL' | 'SIGTERM'>;
}

/** A pause of a seeded length in [minMs, maxMs], cut short at the end of the fault window. */
export function pause(context: FaultContext, minMs: number, maxMs: number): Promise<void> {
  const ms = context.random.int(minMs, maxMs);
  return sleep(Math.max(0, Math.min(ms, faultWindowEnd(context) - Date.now())));
}

/**
 * Waits until the fleet has had `count` more approvals (it is paying: the fault hits a system at
 * work, however slow the machine), then a seeded pause of up to `jitterMs`.
 */
export async function whenPaying(context: FaultContext, count: number, jitterMs: number): Promise<void> {
  const target = context.approvals() + count;
  while (context.approvals() < target && Date.now() < faultWindowEnd(context)) await sleep(50);
  await pause(context, 0, jitterMs);
}

/**
 * Faults stop 4 s before the fleet does: its last requests meet a working system, which shows
 * that service came back by itself.
 */
export function faultWindowEnd(context: FaultContext): number {
  return context.end - 4000;
}

/** gateway-sigkill: the share of kills timed to catch a transaction half-way. */
const MID_TRANSACTION_SHARE = 0.4;

export function gatewaySigkill(tuning: ScenarioTuning = {}): Scenario {
  const kills = (short: boolean) => tuning.kills ?? (short ? 5 : 24);
  // Between kills: up long enough for terminals to reconnect and pay, sometimes not.
  const pauses = (short: boolean) => tuning.killPauseMs ?? (short ? [800, 2000] : [1500, 4000]);
  return {
    name: 'gateway-sigkill',
    description: 'the gateway process SIGKILLed at random moments, again and again, and restarted',
    instances: ['A'],
    durationSec(short, startupMs) {
      if (tuning.durationSec !== undefined) return tuning.durationSec;
      const [minMs, maxMs] = pauses(short);
      // Each kill: a pause, for some a wait for a transaction step (at most maxMs), then a
      // restart as slow as the first start (half again, for luck).
      const killsMs = kills(short) * ((minMs + maxMs) / 2 + MID_TRANSACTION_SHARE * maxMs + 1.5 * startupMs);
      return Math.ceil(killsMs / 1000) + 6;
    },
    async inject(context) {
      const [minMs, maxMs] = pauses(context.short);
      let done = 0;
      await whenPaying(context, 1, 0);
      while (done < kills(context.short) && Date.now() < faultWindowEnd(context)) {
        await pause(context, minMs, maxMs);
        if (Date.now() >= faultWindowEnd(context)) break;
        // Some kills land between two steps of a transaction: its request reached Redis, the
        // gateway never saw the reply. The others land wherever they fall.
        if (context.random.chance(MID_TRANSACTION_SHARE) && (await context.stack.transactionStepSent('A', maxMs))) context.count('midTransactionKills');
        context.mark('kill');
        await context.stack.killInstance('A');
        done += 1;
        context.count('kills');
        await context.stack.startInstance('A');
        context.count('restartTotalMs', context.stack.lastStartMs);
      }
    },
  };
}

export function redisRestart(tuning: ScenarioTuning = {}): Scenario {
  return {
    name: 'redis-restart',
    description: 'redis-server SIGKILLed (and, in the full run, later SIGTERMed) mid-run and restarted on its AOF',
    instances: ['A'],
    durationSec: (short) => tuning.durationSec ?? (short ? 10 : 40),
    async inject(context) {
      const signals = tuning.redisSignals ?? (context.short ? ['SIGKILL'] : ['SIGKILL', 'SIGTERM']);
      for (const signal of signals) {
        await whenPaying(context, context.short ? 3 : 20, 2000);
        if (Date.now() >= faultWindowEnd(context)) break;
        // A SIGKILL right as a transaction step is on its way in: Redis dies with it applied or not.
        if (signal === 'SIGKILL' && (await context.stack.transactionStepSent('A', 3000))) context.count('midTransactionKills');
        context.mark('redisRestart');
        await context.stack.restartRedis(signal);
        context.count(signal === 'SIGKILL' ? 'redisKills' : 'redisTerms');
      }
    },
  };
}

export function redisOutage(): Scenario {
  return {
    name: 'redis-outage',
    description: 'redis-server stopped (SIGSTOP) for 10 s: SYSTEM_BUSY, nothing approved, service resumes by itself',
    instances: ['A'],
    durationSec: (short) => (short ? 12 : 30),
    async inject(context) {
      const outageMs = context.short ? 4000 : 10_000;
      await whenPaying(context, context.short ? 3 : 10, 1500);
      context.stack.pauseRedis();
      context.mark('outageStart');
      await sleep(outageMs);
      context.mark('outageEnd');
      context.stack.resumeRedis();
      context.count('outageMs', outageMs);
    },
    check({ answers, marks, faults }) {
      const start = marks.get('outageStart');
      const end = marks.get('outageEnd');
      if (start === undefined || end === undefined) return ['the outage did not happen'];
      // An answer the gateway sent just before Redis stopped can still be on the GPRS link (and
      // the core waits 2 s for Redis): allow 4 s before the window starts counting.
      const approved = answers.filter((a) => a.at > start + 4000 && a.at < end && a.result === 'APPROVED');
      const problems = approved.map((a) => `${a.operation} APPROVED ${a.at - start} ms into the Redis outage`);
      if (!(faults.systemBusyAnswers! > 0)) problems.push('no SYSTEM_BUSY answer during the Redis outage');
      return problems;
    },
  };
}

export function instanceCutoff(): Scenario {
  return {
    name: 'instance-cutoff',
    description: "instance A cut off from Redis (blackhole); the balancer moves A's terminals to B; A rejoins later",
    instances: ['A', 'B'],
    durationSec: (short) => (short ? 12 : 40),
    async inject(context) {
      const cutMs = context.short ? 4000 : 10_000;
      await whenPaying(context, context.short ? 3 : 10, 1500);
      // Cut as a transaction step of A's reaches Redis: done there, its reply lost on the way.
      if (await context.stack.transactionStepSent('A', 5000)) context.count('midTransactionCut');
      context.stack.cutInstanceFromRedis('A', 'blackhole');
      context.mark('cut');
      // The balancer's health check notices after a few failed probes, then takes A out of
      // rotation and closes its sessions: its terminals reconnect, through B.
      await sleep(2000);
      context.count('connectionsMoved', context.stack.front.connections('A'));
      context.stack.front.cut('A', 'reset');
      await sleep(Math.max(0, Math.min(cutMs - 2000, faultWindowEnd(context) - Date.now())));
      context.stack.reconnectInstanceToRedis('A');
      context.stack.front.restore('A');
      context.mark('rejoined');
    },
  };
}

export function allScenarios(tuning: ScenarioTuning = {}): Scenario[] {
  return [gatewaySigkill(tuning), redisRestart(tuning), redisOutage(), instanceCutoff(), collectorsSigkill(tuning)];
}

/**
 * Fault scenarios of the billing system: the reference biller (`aircharge-sim biller`) as its own
 * process beside the stack, the gateways posting to it over HTTP (`--biller URL`), faults injected
 * through its run-time API or by killing it:
 *
 *   biller-down-decline   down for 30 s (the nightly batch), --biller-down decline: PAY is declined
 *                         BILLER_UNAVAILABLE once the breaker opens, the float untouched
 *   biller-down-accept    the same under --biller-down accept: approved against the float, the
 *                         postings queued and forwarded in order when it is back
 *   biller-slow           every answer slower than the gateway's timeout: postings in doubt,
 *                         settled by recovery's query once it answers in time again
 *   biller-no-answer      books some postings and never answers: in doubt, found booked by the query
 *   biller-restart        SIGKILLed mid-run and restarted on its own data
 *
 * Each ends, like every scenario, with nothing lost or doubled and verify passing; and here the
 * queue drained, nothing pending, and the biller's leg reconciled (`aircharge reconcile biller
 * --fetch` over the API, as a process) with no break.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin } from '../../src/admin/index.js';
import { authHeaders } from '../../src/biller/http-auth.js';
import { parsePostingsFile } from '../../src/biller/postings-file.js';
import { GATEWAY_BIN, startReferenceBiller, type BillerService } from '../processes.js';
import { faultWindowEnd, whenPaying, type Attachment, type FaultContext, type Scenario } from './scenarios.js';

/** The gateway's view of the biller in these runs: a short timeout and breaker, so faults show within seconds. */
const BILLER_TIMEOUT_SEC = 1;
const GATEWAY_BILLER_ARGS = [
  '--biller-timeout', String(BILLER_TIMEOUT_SEC),
  '--biller-breaker-threshold', '3',
  // Long enough that the terminals not caught in doubt by the first faults meet the open breaker
  // (each probe that meets the biller still down leaves one more payment in doubt).
  '--biller-breaker-cooldown', '5',
  // Transactions in doubt are asked about within seconds of the fault ending.
  '--recovery-after', '3',
];

/** How long everything owed may take to settle after the fleet: the queue forwarded, in-doubt transactions settled. */
const SETTLE_MS = 60_000;

export interface BillerTuning {
  /** biller-down-*: how long the biller is down, s; default 30 (the issue's), shorter in tests. */
  downSec?: number;
  /** biller-slow, biller-no-answer: how long the fault lasts, s; default 10 (4 short). */
  faultSec?: number;
}

/** How long biller-slow's and biller-no-answer's fault lasts, s: the tuning's, else 10 (4 short). */
function faultSec(tuning: BillerTuning, short: boolean): number {
  return tuning.faultSec ?? (short ? 4 : 10);
}

/** The reference biller beside a chaos stack: its process, data, secret, and the operator's calls to it. */
export class ReferenceBillerLeg implements Attachment {
  readonly gatewayArgs: string[];

  private constructor(
    private readonly dir: string,
    private readonly secretFile: string,
    private service: BillerService,
    policy: 'decline' | 'accept',
  ) {
    this.gatewayArgs = ['--biller', service.url, '--biller-secret-file', secretFile, '--biller-down', policy, ...GATEWAY_BILLER_ARGS];
  }

  static async start(policy: 'decline' | 'accept'): Promise<ReferenceBillerLeg> {
    const dir = mkdtempSync(join(tmpdir(), 'aircharge-chaos-biller-'));
    const secretFile = join(dir, 'secret');
    writeFileSync(secretFile, `chaos-${Date.now()}-reference-biller-secret\n`, { mode: 0o600 });
    return new ReferenceBillerLeg(dir, secretFile, await ReferenceBillerLeg.process(dir, secretFile), policy);
  }

  private static process(dir: string, secretFile: string, port?: number): Promise<BillerService> {
    return startReferenceBiller({
      dataDir: join(dir, 'data'),
      logFile: join(dir, 'biller.log'),
      secretFile,
      ...(port === undefined ? {} : { port }),
      args: ['--log-level', 'warn'],
    });
  }

  async seeded(network: { extract?: string }): Promise<void> {
    const answer = await this.call('POST', '/v1/admin/bills', network.extract ?? '', 'text/csv');
    if (answer.status !== 200) throw new Error(`the reference biller refused the extract: ${answer.text}`);
  }

  /** Changes its faults at run time (PUT /v1/admin/faults). */
  async faults(change: Record<string, number>): Promise<void> {
    const answer = await this.call('PUT', '/v1/admin/faults', JSON.stringify(change), 'application/json');
    if (answer.status !== 200) throw new Error(`the reference biller refused the faults: ${answer.text}`);
  }

  /** SIGKILL, then the same port and data again. */
  async restart(): Promise<void> {
    const { port, process: child } = this.service;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    this.service = await ReferenceBillerLeg.process(this.dir, this.secretFile, port);
  }

  async settle(admin: Admin): Promise<string[]> {
    const deadline = Date.now() + SETTLE_MS;
    for (;;) {
      const [queued, pending] = await Promise.all([admin.queuedPostings('queue'), admin.listPending()]);
      if (queued.length === 0 && pending.length === 0) return [];
      if (Date.now() > deadline) {
        return [`after ${SETTLE_MS / 1000} s still ${queued.length} postings queued and ${pending.length} transactions pending: ${[...queued, ...pending].slice(0, 5).map((p) => p.receipt).join(', ')}`];
      }
      await sleep(500);
    }
  }

  async dayPostings(day: number) {
    const answer = await this.call('GET', `/v1/postings?day=${day}`);
    const { postings, errors } = parsePostingsFile(answer.text);
    if (answer.status !== 200 || errors.length > 0) throw new Error(`the biller's postings file of ${day} does not read: ${answer.status} ${errors[0] ?? answer.text}`);
    return postings;
  }

  /** `aircharge reconcile biller --day D --fetch` as a process, against this biller, as an operator runs it. */
  check(day: number, operatorRedisUrl: string): Promise<string[]> {
    const env = { ...process.env, AIRCHARGE_BILLER_URL: this.service.url, AIRCHARGE_BILLER_SECRET_FILE: this.secretFile };
    return new Promise((resolve) => {
      execFile(process.execPath, [GATEWAY_BIN, 'reconcile', 'biller', '--day', String(day), '--fetch', '--json', '--redis', operatorRedisUrl], { env, timeout: 60_000 }, (error, stdout, stderr) => {
        if (!error) return resolve([]);
        try {
          const result = JSON.parse(stdout) as { breaks: number; lines: Array<{ receipt: string; status: string; detail: string }> };
          resolve([
            `reconcile biller --fetch: ${result.breaks} breaks`,
            ...result.lines.filter((l) => l.status !== 'matched').slice(0, 10).map((l) => `  ${l.status} ${l.receipt} ${l.detail}`),
          ]);
        } catch {
          resolve([`reconcile biller --fetch failed: ${stderr.trim() || stdout.trim()}`]);
        }
      });
    });
  }

  async stop(): Promise<void> {
    await this.service.stop(2_000);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async call(method: string, path: string, body = '', type?: string): Promise<{ status: number; text: string }> {
    const secret = Buffer.from(readFileSync(this.secretFile, 'utf8').trim());
    const response = await fetch(`${this.service.url}${path}`, {
      method,
      headers: { ...(type === undefined ? {} : { 'content-type': type }), ...authHeaders('hmac', secret, method, path, body, Date.now()) },
      ...(body === '' ? {} : { body }),
    });
    return { status: response.status, text: await response.text() };
  }
}

/**
 * A scenario with the reference biller beside the stack: `inject` gets the leg to fault. The leg is
 * made by attach() and handed to inject() through the closure, one run at a time.
 */
function withBiller(
  spec: Omit<Scenario, 'attach' | 'inject' | 'instances'> & { policy: 'decline' | 'accept'; inject(context: FaultContext, biller: ReferenceBillerLeg): Promise<void> },
): Scenario {
  let leg: ReferenceBillerLeg | null = null;
  const { policy, inject, ...rest } = spec;
  return {
    ...rest,
    instances: ['A'],
    async attach() {
      leg = await ReferenceBillerLeg.start(policy);
      return leg;
    },
    async inject(context) {
      if (leg === null) throw new Error(`${spec.name}: the reference biller was not started`);
      await inject(context, leg);
    },
  };
}

/** Waits out a fault window of `ms`, cut short where the scenario's faults must end. */
function hold(context: FaultContext, ms: number): Promise<void> {
  return sleep(Math.max(0, Math.min(ms, faultWindowEnd(context) - Date.now())));
}

function billerDown(policy: 'decline' | 'accept', tuning: BillerTuning): Scenario {
  return withBiller({
    name: `biller-down-${policy}`,
    description: `the biller down (503) for ${tuning.downSec ?? 30} s, --biller-down ${policy}`,
    policy,
    durationSec: (short) => (tuning.downSec ?? 30) + (short ? 10 : 20),
    async inject(context, biller) {
      const downMs = (tuning.downSec ?? 30) * 1000;
      await whenPaying(context, 3, 1000);
      context.mark('billerDown');
      await biller.faults({ downForMs: downMs });
      await hold(context, downMs);
      context.mark('billerUp');
      context.count('billerDownMs', downMs);
    },
    check({ answers, marks, faults }) {
      if (!marks.has('billerDown') || !marks.has('billerUp')) return ['the biller was never down'];
      // An APPROVED arriving in the window may be the stored answer of a payment made before it (a
      // retransmission over the bad link): the policies are told apart by what only they do.
      // A correction is never queued: under either policy it is declined while the breaker is open.
      const unavailable = answers.filter((a) => a.operation === 'pay' && a.result === 'BILLER_UNAVAILABLE').length;
      if (unavailable > 0) faults.billerUnavailable = unavailable;
      if (policy === 'decline') {
        return [
          ...(unavailable > 0 ? [] : ['no payment declined BILLER_UNAVAILABLE while the biller was down under --biller-down decline']),
          ...(faults.billerQueueForwarded === undefined ? [] : [`${faults.billerQueueForwarded} postings queued under --biller-down decline`]),
        ];
      }
      return [
        ...(unavailable === 0 ? [] : [`${unavailable} payments declined BILLER_UNAVAILABLE under --biller-down accept`]),
        ...(faults.billerQueueForwarded !== undefined ? [] : ['no posting queued and forwarded under --biller-down accept']),
      ];
    },
  });
}

function billerSlow(tuning: BillerTuning): Scenario {
  return withBiller({
    name: 'biller-slow',
    description: `every biller answer ${BILLER_TIMEOUT_SEC * 1000 + 1500} ms late, beyond the gateway's ${BILLER_TIMEOUT_SEC} s timeout`,
    policy: 'decline',
    durationSec: (short) => faultSec(tuning, short) + (short ? 10 : 20),
    async inject(context, biller) {
      const faultMs = faultSec(tuning, context.short) * 1000;
      await whenPaying(context, 3, 1000);
      context.mark('slow');
      await biller.faults({ latencyMs: BILLER_TIMEOUT_SEC * 1000 + 1500 });
      await hold(context, faultMs);
      await biller.faults({ latencyMs: 0 });
      context.mark('fast');
    },
  });
}

function billerNoAnswer(tuning: BillerTuning): Scenario {
  return withBiller({
    name: 'biller-no-answer',
    description: 'the biller books half the postings and never answers them',
    policy: 'decline',
    durationSec: (short) => faultSec(tuning, short) + (short ? 10 : 20),
    async inject(context, biller) {
      const faultMs = faultSec(tuning, context.short) * 1000;
      await whenPaying(context, 3, 1000);
      context.mark('noAnswer');
      await biller.faults({ bookNoAnswerRate: 0.5 });
      await hold(context, faultMs);
      await biller.faults({ bookNoAnswerRate: 0 });
      context.mark('answering');
    },
  });
}

function billerRestart(): Scenario {
  return withBiller({
    name: 'biller-restart',
    description: 'the biller process SIGKILLed mid-run and restarted on its own data',
    policy: 'decline',
    durationSec: (short) => (short ? 14 : 30),
    async inject(context, biller) {
      for (let i = 0; i < (context.short ? 1 : 3); i++) {
        await whenPaying(context, 3, 1500);
        if (Date.now() >= faultWindowEnd(context)) break;
        context.mark('billerKill');
        await biller.restart();
        context.count('billerKills');
      }
    },
  });
}

export function billerScenarios(tuning: BillerTuning = {}): Scenario[] {
  return [billerDown('decline', tuning), billerDown('accept', tuning), billerSlow(tuning), billerNoAnswer(tuning), billerRestart()];
}

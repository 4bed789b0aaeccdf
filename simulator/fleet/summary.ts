/** The fleet's figures: a few lines for a person, then one JSON line for scripts. */
import { formatYuan } from '../../src/admin/index.js';
import type { FleetResult } from './fleet.js';
import type { Reconciliation } from './reconcile.js';

export function fleetFigures(result: FleetResult, reconciliation: Reconciliation, extra: Record<string, unknown>) {
  const answers = Object.values(result.counts).reduce((sum, byCode) => sum + Object.values(byCode).reduce((a, b) => a + b, 0), 0);
  return {
    ...extra,
    terminals: result.ledgers.length,
    collectors: reconciliation.collectors,
    durationMs: result.durationMs,
    answers,
    counts: result.counts,
    latencyMs: result.latency.percentiles(),
    events: result.events,
    refused: result.refused,
    settle: { ran: result.settle.ran, balanced: result.settle.balanced, of: result.ledgers.length },
    reconciliation: {
      ok: reconciliation.ok,
      ledger: reconciliation.ledger,
      journal: reconciliation.journal,
      unfinished: reconciliation.unfinished,
      verify: reconciliation.verify.ok,
      biller: reconciliation.biller,
      mismatches: reconciliation.mismatches,
    },
  };
}

export function fleetText(figures: ReturnType<typeof fleetFigures>): string {
  const lines: string[] = [];
  lines.push(`${figures.terminals} terminals, ${(figures.durationMs / 1000).toFixed(1)} s, ${figures.answers} answers`);
  for (const [operation, byCode] of Object.entries(figures.counts)) {
    const codes = Object.entries(byCode).sort((a, b) => b[1] - a[1]).map(([code, n]) => `${code} ${n}`).join(', ');
    lines.push(`  ${operation.padEnd(8)} ${codes || '-'}`);
  }
  const l = figures.latencyMs;
  lines.push(`latency ms: p50 ${l.p50}  p90 ${l.p90}  p99 ${l.p99}  p99.9 ${l.p999}  max ${l.max}`);
  const e = figures.events;
  lines.push(`link: ${e.cuts} cuts, ${e.halfOpens} half-open, ${e.holes} coverage holes; terminals: ${e.timeouts} timeouts, ${e.retransmits} retransmissions, ${e.reissued} re-sent after REPLAY, ${e.reconnects} reconnects`);
  const r = figures.reconciliation;
  lines.push(
    `ledgers: ${r.ledger.payments} payments ${r.ledger.paymentsFen} fen, ${r.ledger.corrections} corrections ${r.ledger.correctionsFen} fen; ` +
      `journal: ${r.journal.payments} payments ${r.journal.paymentsFen} fen, ${r.journal.corrections} corrections ${r.journal.correctionsFen} fen`,
  );
  const c = figures.collectors;
  if (c.count > 0) {
    lines.push(
      `collectors: ${c.count} walking their rounds, ¥${formatYuan(c.collectedFen, { grouped: true })} cash collected, ` +
        `¥${formatYuan(c.remittedFen, { grouped: true })} handed in at the office (${c.remits} remittances, ${c.duringDay} during the day), ¥${formatYuan(c.heldFen, { grouped: true })} still held`,
    );
  }
  if (figures.settle.ran) lines.push(`settle: ${figures.settle.balanced} of ${figures.settle.of} terminals balanced with the gateway`);
  lines.push(`biller: ${r.biller.matched} postings matched the journal, ${r.biller.breaks} breaks`);
  lines.push(r.ok ? 'reconciliation: ok (ledgers = journal = report = the biller\'s postings, verify ok)' : `reconciliation: ${r.mismatches.length} MISMATCH(ES)`);
  for (const m of r.mismatches.slice(0, 20)) lines.push(`  ${m}`);
  return lines.join('\n');
}

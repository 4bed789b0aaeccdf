/**
 * Durability across Redis restarts (issue 4): redis-server, with AOF on and fsync every second
 * as the README documents, is SIGKILLed and later SIGTERMed mid-run under fleet load over the
 * `bad` link, and restarted on its AOF each time. Every payment approved before a restart
 * survives it: nothing a terminal saw approved is missing from the journal.
 *
 * This is a process restart: Redis writes the AOF before it replies, so the OS holds every
 * acknowledged write even if the process dies. What everysec can lose (up to a second of
 * writes) is on an OS crash or power loss, which a test on one machine cannot stage.
 */
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../simulator/chaos/run.js';
import { redisRestart } from '../../simulator/chaos/scenarios.js';

describe('Redis restarted on its AOF', () => {
  it('keeps every approved payment through a SIGKILL and a SIGTERM of redis-server', async () => {
    const row = await runScenario(redisRestart({ redisSignals: ['SIGKILL', 'SIGTERM'], durationSec: 20 }), { seed: 12, short: true });
    expect(row.problems).toEqual([]);
    expect(row.faults).toMatchObject({ redisKills: 1, redisTerms: 1 });
    // Payments were approved before the last restart; the journal has every approval (lost = 0).
    expect(row.approvedBefore.redisRestart).toBeGreaterThan(0);
    expect({ lost: row.lost, duplicated: row.duplicated, verify: row.verify }).toEqual({ lost: 0, duplicated: 0, verify: 'ok' });
    expect(row.ok).toBe(true);
  }, 120_000);
});

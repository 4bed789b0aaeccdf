/**
 * Crash safety of the money (issue 4), under fleet load over the `bad` GPRS link:
 * - the gateway process SIGKILLed at random (seeded) moments, at least 20 times, and restarted
 *   each time; after recovery `aircharge verify`, run as a process, passes and every payment a
 *   terminal saw approved is in the journal exactly once;
 * - redis-server SIGKILLed, and later SIGTERMed, mid-run and restarted on its AOF (fsync every
 *   second, as the README documents): every payment approved before a restart survives it. A
 *   process restart loses nothing that Redis acknowledged, since the AOF write reaches the OS
 *   before the reply; what everysec can lose (up to a second) is on an OS crash or power loss,
 *   which a test on one machine cannot stage.
 */
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../simulator/chaos/run.js';
import { gatewaySigkill, redisRestart } from '../../simulator/chaos/scenarios.js';

describe('crash safety', () => {
  it('loses and doubles nothing when the gateway is SIGKILLed at least 20 times under load', async () => {
    const row = await runScenario(gatewaySigkill({ kills: 20, killPauseMs: [200, 800] }), { seed: 11, short: true, terminals: 8 });
    expect(row.problems).toEqual([]);
    expect(row.faults.kills).toBeGreaterThanOrEqual(20);
    expect(row.approvedBefore.kill).toBeGreaterThan(0);
    expect({ lost: row.lost, duplicated: row.duplicated, verify: row.verify }).toEqual({ lost: 0, duplicated: 0, verify: 'ok' });
    expect(row.ok).toBe(true);
  }, 240_000);

  it('keeps every approved payment when Redis is SIGKILLed and SIGTERMed and restarted on its AOF', async () => {
    const row = await runScenario(redisRestart({ redisSignals: ['SIGKILL', 'SIGTERM'], durationSec: 16 }), { seed: 12, short: true });
    expect(row.problems).toEqual([]);
    expect(row.faults).toMatchObject({ redisKills: 1, redisTerms: 1 });
    // Payments were approved before the last restart: the journal has them all (lost counts them).
    expect(row.approvedBefore.redisRestart).toBeGreaterThan(0);
    expect({ lost: row.lost, duplicated: row.duplicated, verify: row.verify }).toEqual({ lost: 0, duplicated: 0, verify: 'ok' });
    expect(row.ok).toBe(true);
  }, 120_000);
});

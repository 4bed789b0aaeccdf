/**
 * collectors-sigkill: collectors walk door to door beside the outlets (simulator/fleet/collector.ts:
 * the `bad` link plus coverage holes, cash handed in at the office when the terminal says
 * CASH_NEAR_LIMIT, on a CASH_LIMIT decline and at the end of the day) while the gateway is
 * SIGKILLed again and again. The books after it are the runner's, and for collectors they include
 * the cash: each one holds exactly his payments − corrections − remittances, every hand-in is in
 * the journal once, and verify's collector invariant holds.
 */
import { gatewaySigkill, type Scenario, type ScenarioTuning } from './scenarios.js';

export function collectorsSigkill(tuning: ScenarioTuning = {}): Scenario {
  return {
    ...gatewaySigkill(tuning),
    name: 'collectors-sigkill',
    description: 'collectors walking through coverage holes and handing in cash while the gateway is SIGKILLed and restarted',
    collectors: 3,
  };
}

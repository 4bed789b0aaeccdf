/**
 * Fleet-wide gauges, computed once for the fleet rather than by every gateway at every scrape.
 *
 * The numbers (pending transactions, low floats, top-ups) describe the whole network and come from
 * a walk over every merchant in Redis. Every gateway runs a FleetGauges, but only the holder of
 * a short Redis lease (`ac:metrics:fleet-lease`, a few intervals long, renewed at each tick)
 * walks the store, at most once per interval, and only the holder exports the results; the others
 * export `aircharge_fleet_lease_held 0` and nothing else from here. A scrape reads the last result
 * and never touches Redis; a tick that fails (Redis down) stops the export until one succeeds. When the holder dies, its lease expires and another gateway takes it
 * at its next tick, so the series carry on under another instance label: aggregate them with
 * max() (or sum(): only one instance exports them), and expect a gap of up to the lease length.
 */
import type { Cluster, Redis } from 'ioredis';
import { Counter, Gauge, Registry } from 'prom-client';
import { keys } from '../store/keys.js';
import { Script } from '../store/script.js';
import { sampleStore, type StoreSample } from './store.js';

/** Take the lease when free, extend it when ours; 1 when we hold it afterwards. */
const LEASE = new Script(`
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`);

export const DEFAULT_FLEET_INTERVAL_MS = 15_000;

export interface FleetGaugeOptions {
  instanceId: string;
  /** How often the holder walks the store (and every instance tries for the lease). */
  intervalMs?: number;
  /** Called when a tick fails (Redis down): the last values stay exported until the lease lapses. */
  onError?: (err: unknown) => void;
}

export class FleetGauges {
  /** What only the lease holder exports, kept apart so a non-holder's scrape leaves it out. */
  private readonly fleetRegistry = new Registry();
  private readonly intervalMs: number;
  private readonly leaseMs: number;
  private timer: NodeJS.Timeout | null = null;
  private holder = false;
  private sample: (StoreSample & { topUps: number; topUpFen: number }) | null = null;
  private ticking: Promise<void> | null = null;

  constructor(
    private readonly redis: Redis | Cluster,
    registry: Registry,
    private readonly options: FleetGaugeOptions,
  ) {
    this.intervalMs = options.intervalMs ?? DEFAULT_FLEET_INTERVAL_MS;
    this.leaseMs = this.intervalMs * 3;
    const self = this;
    new Gauge({
      name: 'aircharge_fleet_lease_held',
      help: 'Whether this instance computes and exports the fleet-wide gauges (1 on exactly one instance)',
      registers: [registry],
      collect() {
        this.set(self.holder ? 1 : 0);
      },
    });
    const fleet = (name: string, help: string, pick: (s: NonNullable<FleetGauges['sample']>) => number, type: 'gauge' | 'counter' = 'gauge') => {
      const Metric = type === 'gauge' ? Gauge : Counter;
      new Metric({
        name,
        help,
        registers: [this.fleetRegistry],
        collect() {
          this.reset();
          if (self.sample) (this as Gauge).inc(pick(self.sample));
        },
      });
    };
    fleet('aircharge_pending_transactions', 'Transactions pending in Redis (begun, not yet completed or rolled back), all merchants',
      (s) => s.pendingTransactions);
    fleet('aircharge_oldest_pending_transaction_seconds', 'Age of the oldest pending transaction (0 when none) at the last walk',
      (s) => s.oldestPendingSec);
    fleet('aircharge_merchants_low_float', 'Outlets in the low-float warning state (below their threshold; left only above threshold plus margin)',
      (s) => s.merchantsLowFloat);
    fleet('aircharge_collectors_near_cash_limit', 'Collectors in the near-cash-limit state (told to hand cash in; left only below the threshold less its margin)',
      (s) => s.collectorsNearCashLimit);
    fleet('aircharge_topups_total', 'Top-ups applied to merchant floats (admin CLI and API), all time', (s) => s.topUps, 'counter');
    fleet('aircharge_topups_fen_total', 'Fen added to merchant floats by top-ups, all time', (s) => s.topUpFen, 'counter');
    // The fleet of terminals: online counts and the health the online ones last reported (heartbeats).
    const labelled = (name: string, help: string, label: string, pick: (s: NonNullable<FleetGauges['sample']>) => Record<string, number>) =>
      new Gauge({
        name,
        help,
        labelNames: [label],
        registers: [this.fleetRegistry],
        collect() {
          this.reset();
          if (self.sample) for (const [value, count] of Object.entries(pick(self.sample))) this.set({ [label]: value }, count);
        },
      });
    labelled('aircharge_terminals', 'Terminals with a session open (online) or not (offline), all merchants', 'state',
      (s) => ({ online: s.terminals.online, offline: s.terminals.offline }));
    labelled('aircharge_terminals_by_health', 'Online terminals by the GSM signal of their last heartbeat: weak (CSQ under 10), ok, unknown (none reported)', 'signal',
      (s) => s.terminals.bySignal);
    labelled('aircharge_terminals_by_printer', "Online terminals by their last heartbeat's printer state (ok, paper-low, paper-out, cover-open, fault, unknown)", 'printer',
      (s) => s.terminals.byPrinter);
    fleet('aircharge_terminals_on_battery', 'Online terminals whose last heartbeat said they run on battery', (s) => s.terminals.onBattery);
  }

  /** Ticks now, then every interval. */
  start(): void {
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** One round: hold (or take) the lease, and if held, walk the store. Resolves when done. */
  tick(): Promise<void> {
    this.ticking ??= this.round().finally(() => (this.ticking = null));
    return this.ticking;
  }

  /** The exposition of the fleet-wide series: empty unless this instance holds the lease. */
  async exposition(): Promise<string> {
    return this.holder && this.sample !== null ? this.fleetRegistry.metrics() : '';
  }

  private async round(): Promise<void> {
    try {
      const held = (await LEASE.run(this.redis, [keys.fleetMetricsLease()], [this.options.instanceId, this.leaseMs])) === 1;
      if (!held) {
        this.holder = false;
        this.sample = null;
        return;
      }
      const [store, stats] = await Promise.all([
        sampleStore(this.redis, { now: Date.now() }),
        this.redis.hmget(keys.topUpStats(), 'count', 'fen'),
      ]);
      // Holder and its values change together: a scrape never sees the one without the other.
      this.sample = { ...store, topUps: Number(stats[0] ?? 0), topUpFen: Number(stats[1] ?? 0) };
      this.holder = true;
    } catch (err) {
      // No fresh reading, no export: another instance may take the lease meanwhile.
      this.holder = false;
      this.sample = null;
      this.options.onError?.(err);
    }
  }
}

/**
 * The HAProxy configuration for N gateway instances: TCP mode (HAProxy never reads our frames),
 * least-connections balancing (terminals hold long-lived connections, so round robin would pile
 * them on old instances), and a health check on each gateway's `/ready` on its metrics port, so a
 * draining or dead gateway stops getting new terminals. `src/ops/haproxy.cfg` is this function's
 * output for SHIPPED_HAPROXY_OPTIONS (a test keeps the two equal and runs `haproxy -c` on it).
 */
import { Defaults } from '../../protocol/constants.js';

export interface HaproxyGateway {
  /** Server name in HAProxy's logs, stats and runtime commands (`set server gateways/<name> ...`). */
  name: string;
  host: string;
  /** The gateway's terminal port. */
  port: number;
  /** The gateway's metrics port, where HAProxy checks `/ready`. */
  checkPort: number;
}

export interface HaproxyOptions {
  /** Where terminals connect. */
  bind: { host: string; port: number };
  gateways: HaproxyGateway[];
  /** HAProxy's own stats page (`/stats`) and Prometheus exporter (`/metrics`); omit for none. */
  stats?: { host: string; port: number };
  /** Runtime API socket (drain or disable a gateway by hand); omit for none. */
  adminSocket?: string;
  /**
   * Connections HAProxy holds at once, all gateways together. HAProxy needs two file descriptors
   * per connection and refuses to start when it cannot raise its limit that far (LimitNOFILE).
   */
  maxConnections?: number;
  /**
   * New connections one source address may open per 10 s before HAProxy refuses it. Terminals on
   * one carrier often share a public address (carrier-grade NAT), so this must allow a whole
   * reconnect storm from one NAT pool; omit for no limit.
   */
  connectionsPer10sPerAddress?: number;
  /** Readiness checks: every `intervalMs`; `fall` failures mark a gateway down, `rise` passes up. */
  check?: { intervalMs: number; fall: number; rise: number };
  timeouts?: { connectMs: number; idleMs: number };
  /** Send the PROXY protocol v2 header, so a gateway that reads it sees the terminal's address. */
  proxyProtocol?: boolean;
}

export const DEFAULT_CHECK = { intervalMs: 2_000, fall: 2, rise: 2 };
/**
 * The idle timeouts sit above the gateway's idle timeout (180 s, three missed heartbeats), so the
 * gateway, which sends NOTICE IDLE_TIMEOUT before closing, always acts first; HAProxy's own
 * timeout only reaps connections whose gateway has vanished without closing them.
 */
export const DEFAULT_TIMEOUTS = { connectMs: 5_000, idleMs: (Defaults.IDLE_TIMEOUT_SEC + 60) * 1000 };

/**
 * HAProxy asks for two file descriptors per connection plus a few dozen of its own, and refuses to
 * start when it cannot raise its limit that far: 9,000 connections fit a host (or a systemd unit)
 * limited to 20,000 open files. Raise it with LimitNOFILE >= 2 x maxconn + 1,000.
 */
export const DEFAULT_HAPROXY_MAXCONN = 9_000;

/** What `src/ops/haproxy.cfg` is rendered from: three gateways on one host, as the guide shows. */
export const SHIPPED_HAPROXY_OPTIONS: HaproxyOptions = {
  bind: { host: '0.0.0.0', port: 7000 },
  gateways: [1, 2, 3].map((n) => ({ name: `gw${n}`, host: '127.0.0.1', port: 7000 + n, checkPort: 9100 + n })),
  stats: { host: '127.0.0.1', port: 8404 },
  adminSocket: '/run/haproxy/admin.sock',
  maxConnections: DEFAULT_HAPROXY_MAXCONN,
  connectionsPer10sPerAddress: 500,
};

export function renderHaproxyConfig(options: HaproxyOptions): string {
  if (options.gateways.length === 0) throw new Error('HAProxy needs at least one gateway');
  const check = options.check ?? DEFAULT_CHECK;
  const timeouts = options.timeouts ?? DEFAULT_TIMEOUTS;
  const maxConnections = options.maxConnections ?? DEFAULT_HAPROXY_MAXCONN;
  const lines: string[] = [];
  const add = (...more: string[]) => lines.push(...more);

  add(
    '# aircharge: HAProxy in TCP mode in front of the gateway instances.',
    '# Rendered by `aircharge ops haproxy-config` (src/ops/haproxy.ts); src/ops/README.md explains each part.',
    `# maxconn ${maxConnections}: HAProxy needs LimitNOFILE >= ${2 * maxConnections + 1000} (two descriptors a connection).`,
    '',
    'global',
    `    maxconn ${maxConnections}`,
    '    log stdout format raw local0 info',
    '    # After a reload the old process keeps its connections until they close; terminals that',
    '    # heartbeat never go idle, so it is stopped after this and they reconnect to the new one.',
    '    hard-stop-after 5m',
  );
  if (options.adminSocket) add(`    stats socket ${options.adminSocket} mode 600 level admin`);
  add(
    '',
    'defaults',
    '    mode tcp',
    '    log global',
    '    option tcplog',
    '    # Keepalives on both sides find GPRS links that died without a FIN (half-open).',
    '    option tcpka',
    `    timeout connect ${duration(timeouts.connectMs)}`,
    `    timeout client ${duration(timeouts.idleMs)}`,
    `    timeout server ${duration(timeouts.idleMs)}`,
    `    timeout check ${duration(Math.min(check.intervalMs, 2_000))}`,
    '    # A connect refused by a dead gateway (before the checks notice) is retried on another one.',
    '    retries 2',
    '    option redispatch 1',
    '',
    'frontend terminals',
    `    bind ${options.bind.host}:${options.bind.port}`,
    `    maxconn ${maxConnections}`,
  );
  if (options.connectionsPer10sPerAddress !== undefined) {
    add(
      '    # Per-address connection rate, counted here because behind HAProxy every gateway sees',
      "    # HAProxy's address, not the terminal's.",
      '    stick-table type ip size 200k expire 60s store conn_rate(10s)',
      '    tcp-request connection track-sc0 src',
      `    tcp-request connection reject if { sc_conn_rate(0) gt ${options.connectionsPer10sPerAddress} }`,
    );
  }
  add(
    '    default_backend gateways',
    '',
    'backend gateways',
    '    balance leastconn',
    "    # A gateway is in rotation while its /ready answers 200: it answers 503 from the start of a",
    '    # drain, so HAProxy stops sending new terminals while the gateway finishes its requests and',
    '    # closes its connections itself (with NOTICE SHUTTING_DOWN). Established connections are',
    '    # left alone when a gateway is marked down: cutting them would cut in-flight payments.',
    '    option httpchk GET /ready',
    '    http-check expect status 200',
    `    default-server inter ${duration(check.intervalMs)} fall ${check.fall} rise ${check.rise}${options.proxyProtocol ? ' send-proxy-v2' : ''}`,
    ...options.gateways.map((g) => `    server ${g.name} ${g.host}:${g.port} check port ${g.checkPort}`),
  );
  if (options.stats) {
    add(
      '',
      'listen stats',
      '    mode http',
      `    bind ${options.stats.host}:${options.stats.port}`,
      '    timeout client 30s',
      '    http-request use-service prometheus-exporter if { path /metrics }',
      '    stats enable',
      '    stats uri /stats',
      '    stats refresh 10s',
    );
  }
  return `${lines.join('\n')}\n`;
}

/** HAProxy time units: whole seconds as "240s", anything finer in milliseconds. */
function duration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

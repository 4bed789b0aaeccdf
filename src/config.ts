/**
 * `aircharge serve` configuration: every setting has a flag, an environment variable and a
 * default, in that order of precedence, declared once in SERVE_SETTINGS (the CLI builds its
 * options and help from the same table). Values are validated here; a bad one is a ConfigError
 * naming the flag, the variable and what was expected.
 */
import { hostname } from 'node:os';
import { Defaults, MAX_FRAME_SIZE, MIN_FRAME_SIZE } from '../protocol/index.js';
import { formatYuan, parseYuan } from './admin/money.js';
import type { CashNearOptions, LowFloatOptions } from './core/deps.js';
import { DEFAULT_CASH_NEAR, cashNearOptions } from './core/cash-near.js';
import { DEFAULT_LOW_FLOAT } from './core/low-float.js';
import { cutoffMinutes, DEFAULT_BUSINESS_DAY, type BusinessDayOptions } from './core/business-day.js';
import type { GatewayLimits } from './gateway/limits.js';
import { LOG_LEVELS, type LogLevel } from './log.js';
import { parseRedisUrl, redactRedisUrl } from './redis-url.js';

export class ConfigError extends Error {
  readonly code = 'ERR_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface ServeConfig {
  port: number;
  host: string;
  redisUrl: string;
  instanceId: string;
  logLevel: LogLevel;
  /** Use the public demo master key when AIRCHARGE_MASTER_KEY is unset: never for money. */
  demo: boolean;
  /** Serve against a Redis that answers clients who did not authenticate (demo, tests, benchmarks). */
  allowUnauthenticatedRedis: boolean;
  recoveryIntervalMs: number;
  /** A transaction pending this long is settled by recovery (the core's recoveryAfterMs). */
  recoveryAfterMs: number;
  /** The largest single payment, in fen; above it PAY is declined AMOUNT_OVER_LIMIT. */
  maxPaymentFen: number;
  /** How long a request's fingerprint and stored answer are kept for retransmissions. */
  replayRetentionSec: number;
  /** Connections start with a PROXY v2 header (behind HAProxy's send-proxy-v2). */
  proxyProtocol: boolean;
  /** INQUIRY quota per terminal and window (0: none). */
  inquiryQuota: { perWindow: number; windowSec: number };
  drainTimeoutMs: number;
  /** /ready answers 503 once Redis has not answered for this long. */
  unreadyAfterMs: number;
  /** The listening socket's accept queue (the kernel caps it at net.core.somaxconn). */
  listenBacklog: number;
  businessDay: BusinessDayOptions;
  lowFloat: LowFloatOptions;
  cashNear: CashNearOptions;
  /** The /metrics /health /ready endpoint; none when no port is configured. */
  metrics: { port: number; host: string } | null;
  limits: GatewayLimits;
  /** The billing system over HTTP; null: the embedded biller in the gateway's Redis (the default). */
  biller: BillerConfig | null;
  /** With the biller's breaker open: decline PAY (BILLER_UNAVAILABLE) or approve and queue the posting. */
  billerDown: 'decline' | 'accept';
  /** Queued postings (policy accept): how long one may wait, and how many times it is sent, before it fails. */
  billerQueue: { expiryMs: number; maxTries: number };
}

export interface BillerConfig {
  url: string;
  /** File holding the shared secret; else AIRCHARGE_BILLER_SECRET; else none (unauthenticated). */
  secretFile: string | undefined;
  auth: 'hmac' | 'bearer';
  caFile: string | undefined;
  timeoutMs: number;
  breakerThreshold: number;
  breakerCooldownMs: number;
}

type Parser = (text: string) => unknown;

export interface Setting {
  /** commander's attribute name for the flag. */
  name: string;
  flag: string;
  env: string;
  description: string;
  /** Shown in help; undefined when the default depends on another setting. */
  default: string | undefined;
  parse: Parser;
  /** The value as an error may show it, when it can hold a secret. */
  shown?: (text: string) => string;
}

function integer(min: number, max: number): Parser {
  return (text) => {
    if (!/^[0-9]+$/.test(text)) throw new Error(`an integer from ${min} to ${max}`);
    const value = Number(text);
    if (value < min || value > max) throw new Error(`an integer from ${min} to ${max}`);
    return value;
  };
}

/** Seconds, decimals allowed (tests use short timeouts), returned as milliseconds. */
function seconds(min: number, max: number): Parser {
  return (text) => {
    if (!/^[0-9]+(\.[0-9]+)?$/.test(text)) throw new Error(`a number of seconds from ${min} to ${max}`);
    const value = Number(text);
    if (value < min || value > max) throw new Error(`a number of seconds from ${min} to ${max}`);
    return Math.round(value * 1000);
  };
}

/** Yuan with at most two decimals, parsed exactly into fen; at least one fen. */
function yuanOrZero(text: string): number {
  try {
    return parseYuan(text);
  } catch {
    throw new Error('an amount in yuan with at most two decimals (0 or more)');
  }
}

function yuanAtLeastOneFen(text: string): number {
  const expected = 'an amount in yuan with at most two decimals, from 0.01 to 42949672.95';
  let fen: number;
  try {
    fen = parseYuan(text);
  } catch {
    throw new Error(expected);
  }
  if (fen < 1) throw new Error(expected);
  return fen;
}

/** A signed whole number, e.g. minutes east of UTC. */
function signedInteger(min: number, max: number): Parser {
  return (text) => {
    if (!/^[-+]?[0-9]+$/.test(text)) throw new Error(`a whole number from ${min} to ${max}`);
    const value = Number(text);
    if (value < min || value > max) throw new Error(`a whole number from ${min} to ${max}`);
    return value;
  };
}

function cutoff(text: string): string {
  try {
    cutoffMinutes(text);
  } catch {
    throw new Error('a local time HH:MM from 00:00 to 23:59');
  }
  return text;
}

function nonEmpty(what: string): Parser {
  return (text) => {
    if (text.trim() === '') throw new Error(what);
    return text;
  };
}

/** The forms connectRedis (src/cli/redis.ts) takes. */
function redisUrl(text: string): string {
  parseRedisUrl(text);
  return text;
}

function logLevel(text: string): LogLevel {
  if (!(LOG_LEVELS as readonly string[]).includes(text)) throw new Error(`one of ${LOG_LEVELS.join(', ')}`);
  return text as LogLevel;
}

function oneOf<T extends string>(...values: T[]): Parser {
  return (text) => {
    if (!(values as string[]).includes(text)) throw new Error(`one of ${values.join(', ')}`);
    return text as T;
  };
}

/** An http(s) URL; credentials in it are refused (the secret goes in a file). */
function billerUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error('an http:// or https:// URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('an http:// or https:// URL');
  if (url.username !== '' || url.password !== '') throw new Error('a URL without credentials (use --biller-secret-file)');
  return text;
}

function boolean(text: string): boolean {
  if (['1', 'true', 'yes'].includes(text)) return true;
  if (['0', 'false', 'no', ''].includes(text)) return false;
  throw new Error('1/true/yes or 0/false/no');
}

const DAY_SEC = 86_400;

/**
 * The business-day rule: `serve` and every admin command that names a business day take it, so
 * the gateway, the core and the reports agree on which day a payment belongs to.
 */
export const BUSINESS_DAY_SETTINGS: readonly Setting[] = [
  { name: 'businessDayCutoff', flag: '--business-day-cutoff <HH:MM>', env: 'AIRCHARGE_BUSINESS_DAY_CUTOFF',
    default: DEFAULT_BUSINESS_DAY.cutoff,
    description: 'local time at which one business day closes and the next begins (past it, payments count to the next date)',
    parse: cutoff },
  { name: 'utcOffset', flag: '--utc-offset <minutes>', env: 'AIRCHARGE_UTC_OFFSET',
    default: String(DEFAULT_BUSINESS_DAY.utcOffsetMinutes),
    description: 'local time zone in minutes east of UTC (480: China Standard Time)', parse: signedInteger(-720, 840) },
];

/**
 * The billing system over HTTP: `serve` and the admin commands that reach the biller (verify,
 * reconcile biller --fetch, txn reverse, txn reenter) take the same flags and variables, so an
 * operator's environment that runs the gateway points the tools at the same biller.
 */
export const BILLER_SETTINGS: readonly Setting[] = [
  { name: 'biller', flag: '--biller <url>', env: 'AIRCHARGE_BILLER_URL', default: undefined,
    description: 'the billing system over HTTP (src/biller/API.md), http:// or https:// (default: the embedded biller in Redis)',
    parse: billerUrl },
  { name: 'billerSecretFile', flag: '--biller-secret-file <file>', env: 'AIRCHARGE_BILLER_SECRET_FILE', default: undefined,
    description: "file holding the biller's shared secret (or the secret itself in AIRCHARGE_BILLER_SECRET); never logged",
    parse: nonEmpty('a file name') },
  { name: 'billerAuth', flag: '--biller-auth <mode>', env: 'AIRCHARGE_BILLER_AUTH', default: 'hmac',
    description: 'hmac (signed requests) or bearer (the secret as a token; https only)', parse: oneOf('hmac', 'bearer') },
  { name: 'billerCaFile', flag: '--biller-ca-file <file>', env: 'AIRCHARGE_BILLER_CA_FILE', default: undefined,
    description: "PEM file of the CA that signed an https biller's certificate (default: the system's CAs)",
    parse: nonEmpty('a file name') },
  { name: 'billerTimeout', flag: '--biller-timeout <sec>', env: 'AIRCHARGE_BILLER_TIMEOUT', default: '1.5',
    description: 'seconds a biller call may take; a posting without an answer by then is in doubt (pending until recovery asks)',
    parse: seconds(0.05, 60) },
  { name: 'billerBreakerThreshold', flag: '--biller-breaker-threshold <n>', env: 'AIRCHARGE_BILLER_BREAKER_THRESHOLD', default: '5',
    description: 'consecutive biller faults (timeouts, connection failures, 5xx) that open its circuit breaker',
    parse: integer(1, 1000) },
  { name: 'billerBreakerCooldown', flag: '--biller-breaker-cooldown <sec>', env: 'AIRCHARGE_BILLER_BREAKER_COOLDOWN', default: '10',
    description: 'seconds the open breaker fails fast before one call probes the biller', parse: seconds(0.1, 3600) },
];

/** How long a queued posting (policy accept) may wait and how often it is sent: serve, and verify's check of the queue. */
export const BILLER_QUEUE_SETTINGS: readonly Setting[] = [
  { name: 'billerQueueExpiry', flag: '--biller-queue-expiry <sec>', env: 'AIRCHARGE_BILLER_QUEUE_EXPIRY', default: String(DAY_SEC),
    description: 'seconds a queued posting may wait for the biller before it is listed as failed (aircharge biller failed)',
    parse: integer(1, 30 * DAY_SEC) },
  { name: 'billerQueueTries', flag: '--biller-queue-tries <n>', env: 'AIRCHARGE_BILLER_QUEUE_TRIES', default: '20',
    description: 'times a queued posting is sent without an answer before it is listed as failed', parse: integer(1, 1000) },
];

/**
 * The low-float rule (src/core/README.md "Low float"): `serve` and the admin commands that credit a
 * float (float topup, float import) take it, so a top-up leaves the state exactly as a payment would.
 */
export const LOW_FLOAT_SETTINGS: readonly Setting[] = [
  { name: 'lowFloatThreshold', flag: '--low-float-threshold <yuan>', env: 'AIRCHARGE_LOW_FLOAT_THRESHOLD',
    default: formatYuan(DEFAULT_LOW_FLOAT.thresholdFen),
    description: "an outlet enters the low-float warning state when its float falls below this (unless it has its own: merchant set-threshold; 0: never)",
    parse: yuanOrZero },
  { name: 'lowFloatMargin', flag: '--low-float-margin <yuan>', env: 'AIRCHARGE_LOW_FLOAT_MARGIN',
    default: formatYuan(DEFAULT_LOW_FLOAT.marginFen),
    description: 'hysteresis: the state is left only when the float rises above the threshold plus this',
    parse: yuanOrZero },
];

/**
 * The near-cash-limit rule (src/core/README.md "Near the cash limit"): `serve` and `collector remit`
 * take it, so a remittance leaves the state exactly as a correction would.
 */
export const CASH_NEAR_SETTINGS: readonly Setting[] = [
  { name: 'cashNearLimit', flag: '--cash-near-limit <percent>', env: 'AIRCHARGE_CASH_NEAR_LIMIT',
    default: String(DEFAULT_CASH_NEAR.percent),
    description: 'a collector enters the near-cash-limit state when his cash held reaches this percent of his cash limit (0: never)',
    parse: integer(0, 100) },
  { name: 'cashNearLimitMargin', flag: '--cash-near-limit-margin <points>', env: 'AIRCHARGE_CASH_NEAR_LIMIT_MARGIN',
    default: String(DEFAULT_CASH_NEAR.marginPercent),
    description: 'hysteresis: the state is left only when his cash falls below the threshold less this many percentage points',
    parse: integer(0, 100) },
];

export const SERVE_SETTINGS: readonly Setting[] = [
  { name: 'port', flag: '--port <port>', env: 'AIRCHARGE_PORT', default: '7000',
    description: 'TCP port terminals connect to (0: any free port)', parse: integer(0, 65535) },
  { name: 'host', flag: '--host <address>', env: 'AIRCHARGE_HOST', default: '0.0.0.0',
    description: 'address to listen on', parse: nonEmpty('an address') },
  { name: 'redis', flag: '--redis <url>', env: 'REDIS_URL', default: 'redis://127.0.0.1:6379',
    description: 'Redis URL (sessions, sequence guards, money)', parse: redisUrl, shown: redactRedisUrl },
  { name: 'instanceId', flag: '--instance-id <id>', env: 'AIRCHARGE_INSTANCE_ID', default: undefined,
    description: 'name of this instance, unique among those sharing the Redis (default: hostname-pid)',
    parse: (text) => {
      if (!/^[A-Za-z0-9_.-]{1,64}$/.test(text)) throw new Error('1 to 64 of A-Z a-z 0-9 _ . -');
      return text;
    } },
  { name: 'logLevel', flag: '--log-level <level>', env: 'AIRCHARGE_LOG_LEVEL', default: 'info',
    description: `log level (${LOG_LEVELS.join(', ')}); debug adds frame hex dumps, MACs masked`, parse: logLevel },
  { name: 'demo', flag: '--demo', env: 'AIRCHARGE_DEMO', default: 'false',
    description: 'use the public demo master key when AIRCHARGE_MASTER_KEY is unset (never for money)', parse: boolean },
  { name: 'allowUnauthenticatedRedis', flag: '--allow-unauthenticated-redis', env: 'AIRCHARGE_ALLOW_UNAUTHENTICATED_REDIS', default: 'false',
    description: 'serve against a Redis that answers clients without AUTH (anyone reaching it could rewrite the books): demo and tests only', parse: boolean },
  { name: 'maxConnections', flag: '--max-connections <n>', env: 'AIRCHARGE_MAX_CONNECTIONS', default: '10000',
    description: 'connections held at once; more are closed on accept', parse: integer(1, 1_000_000) },
  { name: 'maxConnectionsPerAddress', flag: '--max-connections-per-address <n>', env: 'AIRCHARGE_MAX_CONNECTIONS_PER_ADDRESS',
    default: '256', description: 'connections held at once from one address, IPv6 by /64 (0: no cap; terminals behind one carrier NAT share an address)',
    parse: integer(0, 1_000_000) },
  { name: 'proxyProtocol', flag: '--proxy-protocol', env: 'AIRCHARGE_PROXY_PROTOCOL', default: 'false',
    description: "behind HAProxy with send-proxy-v2: every connection starts with a PROXY v2 header, whose address the per-address limits and logs use; one without it is closed",
    parse: boolean },
  { name: 'maxFrameSize', flag: '--max-frame-size <bytes>', env: 'AIRCHARGE_MAX_FRAME_SIZE',
    default: String(MAX_FRAME_SIZE), description: 'largest frame accepted; a longer length field closes the connection',
    parse: integer(MIN_FRAME_SIZE, MAX_FRAME_SIZE) },
  { name: 'signInTimeout', flag: '--sign-in-timeout <sec>', env: 'AIRCHARGE_SIGN_IN_TIMEOUT',
    default: String(Defaults.SIGN_IN_TIMEOUT_SEC), description: 'seconds a new connection has to sign in',
    parse: seconds(0.05, 3600) },
  { name: 'heartbeatInterval', flag: '--heartbeat-interval <sec>', env: 'AIRCHARGE_HEARTBEAT_INTERVAL',
    default: String(Defaults.HEARTBEAT_SEC), description: 'heartbeat interval announced at sign-in',
    parse: integer(1, 65535) },
  { name: 'idleTimeout', flag: '--idle-timeout <sec>', env: 'AIRCHARGE_IDLE_TIMEOUT', default: undefined,
    description: 'seconds without a frame before a signed-in connection is closed (default: 3 heartbeat intervals)',
    parse: seconds(0.05, DAY_SEC) },
  { name: 'clockWindow', flag: '--clock-window <sec>', env: 'AIRCHARGE_CLOCK_WINDOW',
    default: String(Defaults.CLOCK_WINDOW_SEC), description: 'largest terminal clock difference accepted (CLOCK_SKEW beyond)',
    parse: integer(1, DAY_SEC) },
  { name: 'maxBadFrames', flag: '--max-bad-frames <n>', env: 'AIRCHARGE_MAX_BAD_FRAMES',
    default: String(Defaults.MAX_BAD_FRAMES), description: 'bad frames that close a connection (NOTICE TOO_MANY_BAD_FRAMES)',
    parse: integer(1, 1000) },
  { name: 'connectionRate', flag: '--connection-rate <per-sec>', env: 'AIRCHARGE_CONNECTION_RATE', default: '10',
    description: 'new connections per second from one address (0: no limit; behind a proxy every terminal shares its address)',
    parse: integer(0, 1_000_000) },
  { name: 'connectionBurst', flag: '--connection-burst <n>', env: 'AIRCHARGE_CONNECTION_BURST', default: '20',
    description: 'new connections one address may open at once', parse: integer(1, 1_000_000) },
  { name: 'requestRate', flag: '--request-rate <per-sec>', env: 'AIRCHARGE_REQUEST_RATE', default: '50',
    description: 'requests per second one terminal may send (0: no limit); beyond it RATE_LIMITED, counted as a bad frame',
    parse: integer(0, 1_000_000) },
  { name: 'requestBurst', flag: '--request-burst <n>', env: 'AIRCHARGE_REQUEST_BURST', default: '100',
    description: 'requests one terminal may send at once', parse: integer(1, 1_000_000) },
  { name: 'inquiryQuota', flag: '--inquiry-quota <n>', env: 'AIRCHARGE_INQUIRY_QUOTA', default: '1000',
    description: 'inquiries one terminal may make per --inquiry-window, against account enumeration (0: no quota); beyond it QUOTA_EXCEEDED',
    parse: integer(0, 1_000_000_000) },
  { name: 'inquiryWindow', flag: '--inquiry-window <sec>', env: 'AIRCHARGE_INQUIRY_WINDOW', default: '3600',
    description: 'seconds of one inquiry-quota window (windows are aligned to the epoch: 86400 is a UTC day)',
    parse: integer(1, 30 * DAY_SEC) },
  { name: 'recoveryInterval', flag: '--recovery-interval <sec>', env: 'AIRCHARGE_RECOVERY_INTERVAL', default: '30',
    description: 'seconds between recovery passes over pending transactions (one also runs at start-up)',
    parse: seconds(0.1, DAY_SEC) },
  { name: 'recoveryAfter', flag: '--recovery-after <sec>', env: 'AIRCHARGE_RECOVERY_AFTER', default: '10',
    description: 'seconds a transaction stays pending before a recovery pass settles it (completes or rolls back)',
    parse: seconds(0.05, DAY_SEC) },
  { name: 'maxPayment', flag: '--max-payment <yuan>', env: 'AIRCHARGE_MAX_PAYMENT', default: '5000',
    description: 'the largest single payment in yuan (at most two decimals); above it PAY is declined AMOUNT_OVER_LIMIT',
    parse: yuanAtLeastOneFen },
  { name: 'replayRetention', flag: '--replay-retention <sec>', env: 'AIRCHARGE_REPLAY_RETENTION', default: String(DAY_SEC),
    description: "seconds a request's fingerprint and stored answer are kept for retransmissions " +
      "(at least the terminals' whole retry window)", parse: integer(60, 30 * DAY_SEC) },
  { name: 'listenBacklog', flag: '--listen-backlog <n>', env: 'AIRCHARGE_LISTEN_BACKLOG', default: '4096',
    description: 'connections the kernel queues before they are accepted, for reconnect storms ' +
      '(Linux caps it at net.core.somaxconn: raise that too)', parse: integer(1, 1_000_000) },
  ...BUSINESS_DAY_SETTINGS,
  ...LOW_FLOAT_SETTINGS,
  ...CASH_NEAR_SETTINGS,
  { name: 'metricsPort', flag: '--metrics-port <port>', env: 'AIRCHARGE_METRICS_PORT', default: undefined,
    description: 'serve /metrics (Prometheus), /health and /ready on this port (default: none; 0: any free port)',
    parse: integer(0, 65535) },
  { name: 'metricsHost', flag: '--metrics-host <address>', env: 'AIRCHARGE_METRICS_HOST', default: '127.0.0.1',
    description: 'address of the metrics endpoint', parse: nonEmpty('an address') },
  { name: 'unreadyAfter', flag: '--unready-after <sec>', env: 'AIRCHARGE_UNREADY_AFTER', default: '5',
    description: '/ready answers 503 once Redis has not answered for this many seconds, 200 again when it does',
    parse: seconds(0.1, 3600) },
  ...BILLER_SETTINGS,
  { name: 'billerDown', flag: '--biller-down <policy>', env: 'AIRCHARGE_BILLER_DOWN', default: 'decline',
    description: 'with the breaker open: decline (PAY answered BILLER_UNAVAILABLE, float untouched) or accept (approved, posting queued)',
    parse: oneOf('decline', 'accept') },
  ...BILLER_QUEUE_SETTINGS,
  { name: 'drainTimeout', flag: '--drain-timeout <sec>', env: 'AIRCHARGE_DRAIN_TIMEOUT', default: '10',
    description: 'on SIGTERM/SIGINT, seconds to finish requests in flight before connections are cut',
    parse: seconds(0, 3600) },
];

/**
 * The serve configuration from commander's parsed flags (strings, or true for --demo) and the
 * environment. Throws ConfigError.
 */
export function resolveServeConfig(flags: Record<string, unknown>, env: NodeJS.ProcessEnv): ServeConfig {
  const values = resolveSettings(SERVE_SETTINGS, flags, env);
  const get = <T>(name: string): T => values.get(name) as T;

  const heartbeatSec = get<number>('heartbeatInterval');
  const idleTimeoutMs = get<number | undefined>('idleTimeout') ?? heartbeatSec * 3 * 1000;
  if (idleTimeoutMs <= heartbeatSec * 1000) {
    throw new ConfigError(
      `--idle-timeout (${idleTimeoutMs / 1000} s) must be longer than --heartbeat-interval (${heartbeatSec} s), ` +
        'or every quiet terminal is cut between two heartbeats',
    );
  }
  return {
    port: get('port'),
    host: get('host'),
    redisUrl: get('redis'),
    instanceId: get<string | undefined>('instanceId') ?? `${hostname()}-${process.pid}`,
    logLevel: get('logLevel'),
    demo: get('demo'),
    allowUnauthenticatedRedis: get('allowUnauthenticatedRedis'),
    recoveryIntervalMs: get('recoveryInterval'),
    recoveryAfterMs: get('recoveryAfter'),
    maxPaymentFen: get('maxPayment'),
    replayRetentionSec: get('replayRetention'),
    drainTimeoutMs: get('drainTimeout'),
    unreadyAfterMs: get('unreadyAfter'),
    listenBacklog: get('listenBacklog'),
    businessDay: businessDayFrom(values),
    lowFloat: lowFloatFrom(values),
    cashNear: cashNearFrom(values),
    metrics: values.has('metricsPort')
      ? { port: get('metricsPort'), host: get('metricsHost') }
      : null,
    biller: billerFrom(values),
    billerDown: get('billerDown'),
    billerQueue: billerQueueFrom(values),
    proxyProtocol: get('proxyProtocol'),
    limits: {
      maxConnections: get('maxConnections'),
      maxConnectionsPerAddress: get('maxConnectionsPerAddress'),
      maxFrameSize: get('maxFrameSize'),
      signInTimeoutMs: get('signInTimeout'),
      heartbeatSec,
      idleTimeoutMs,
      clockWindowSec: get('clockWindow'),
      maxBadFrames: get('maxBadFrames'),
      connectionRatePerSec: get('connectionRate'),
      connectionBurst: get('connectionBurst'),
      requestRatePerSec: get('requestRate'),
      requestBurst: get('requestBurst'),
    },
    inquiryQuota: { perWindow: get('inquiryQuota'), windowSec: get('inquiryWindow') },
  };
}

/** The HTTP biller from commander's flags and the environment (admin commands); null: the embedded one. Throws ConfigError. */
export function resolveBiller(flags: object, env: NodeJS.ProcessEnv): BillerConfig | null {
  return billerFrom(resolveSettings(BILLER_SETTINGS, flags as Record<string, unknown>, env));
}

/** The queue's expiry and tries from commander's flags and the environment (verify). Throws ConfigError. */
export function resolveBillerQueue(flags: object, env: NodeJS.ProcessEnv): ServeConfig['billerQueue'] {
  return billerQueueFrom(resolveSettings(BILLER_QUEUE_SETTINGS, flags as Record<string, unknown>, env));
}

function billerFrom(values: Map<string, unknown>): BillerConfig | null {
  const url = values.get('biller') as string | undefined;
  if (url === undefined) return null;
  const auth = values.get('billerAuth') as BillerConfig['auth'];
  if (auth === 'bearer' && new URL(url).protocol !== 'https:' && !isLoopback(new URL(url).hostname)) {
    throw new ConfigError('--biller-auth bearer sends the secret itself: it needs an https:// --biller URL (or a loopback address)');
  }
  return {
    url,
    secretFile: values.get('billerSecretFile') as string | undefined,
    auth,
    caFile: values.get('billerCaFile') as string | undefined,
    timeoutMs: values.get('billerTimeout') as number,
    breakerThreshold: values.get('billerBreakerThreshold') as number,
    breakerCooldownMs: values.get('billerBreakerCooldown') as number,
  };
}

function billerQueueFrom(values: Map<string, unknown>): ServeConfig['billerQueue'] {
  return { expiryMs: (values.get('billerQueueExpiry') as number) * 1000, maxTries: values.get('billerQueueTries') as number };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || host.startsWith('127.');
}

/** The business-day rule from commander's flags and the environment (admin commands). Throws ConfigError. */
export function resolveBusinessDay(flags: object, env: NodeJS.ProcessEnv): BusinessDayOptions {
  return businessDayFrom(resolveSettings(BUSINESS_DAY_SETTINGS, flags as Record<string, unknown>, env));
}

/** The low-float rule from commander's flags and the environment (admin commands). Throws ConfigError. */
export function resolveLowFloat(flags: object, env: NodeJS.ProcessEnv): LowFloatOptions {
  return lowFloatFrom(resolveSettings(LOW_FLOAT_SETTINGS, flags as Record<string, unknown>, env));
}

/** The near-cash-limit rule from commander's flags and the environment (collector remit). Throws ConfigError. */
export function resolveCashNear(flags: object, env: NodeJS.ProcessEnv): CashNearOptions {
  return cashNearFrom(resolveSettings(CASH_NEAR_SETTINGS, flags as Record<string, unknown>, env));
}

function cashNearFrom(values: Map<string, unknown>): CashNearOptions {
  try {
    return cashNearOptions({ percent: values.get('cashNearLimit') as number, marginPercent: values.get('cashNearLimitMargin') as number });
  } catch (error) {
    throw new ConfigError(`--cash-near-limit-margin: ${(error as Error).message}`);
  }
}

function lowFloatFrom(values: Map<string, unknown>): LowFloatOptions {
  return { thresholdFen: values.get('lowFloatThreshold') as number, marginFen: values.get('lowFloatMargin') as number };
}

function businessDayFrom(values: Map<string, unknown>): BusinessDayOptions {
  return { cutoff: values.get('businessDayCutoff') as string, utcOffsetMinutes: values.get('utcOffset') as number };
}

/** Each setting's value: the flag, else the environment variable, else the default, parsed. */
function resolveSettings(settings: readonly Setting[], flags: Record<string, unknown>, env: NodeJS.ProcessEnv): Map<string, unknown> {
  const values = new Map<string, unknown>();
  for (const setting of settings) {
    const flag = flags[setting.name];
    const fromEnv = env[setting.env];
    const source = flag !== undefined ? setting.flag.split(' ')[0] : fromEnv !== undefined ? setting.env : null;
    const text = flag === true ? 'true' : flag !== undefined ? String(flag) : fromEnv ?? setting.default;
    if (text === undefined) continue;
    try {
      values.set(setting.name, setting.parse(text));
    } catch (err) {
      const where = source ?? `default of ${setting.flag.split(' ')[0]}`;
      throw new ConfigError(`${where}: ${JSON.stringify(setting.shown?.(text) ?? text)} is not valid; expected ${(err as Error).message}`);
    }
  }
  return values;
}

/** `aircharge console`: the operator's web console (src/console). */
export interface ConsoleConfig {
  port: number;
  host: string;
  redisUrl: string;
  logLevel: LogLevel;
  businessDay: BusinessDayOptions;
  /** The public demo master key when AIRCHARGE_MASTER_KEY is unset. */
  demo: boolean;
  /** Above this a top-up waits for a second operator; undefined: no limit. */
  approvalLimitFen: number | undefined;
}

const serveSetting = (name: string): Setting => SERVE_SETTINGS.find((s) => s.name === name)!;

export const CONSOLE_SETTINGS: readonly Setting[] = [
  { name: 'port', flag: '--port <port>', env: 'AIRCHARGE_CONSOLE_PORT', default: '8080',
    description: 'HTTP port of the console (0: any free port)', parse: integer(0, 65535) },
  { name: 'host', flag: '--host <address>', env: 'AIRCHARGE_CONSOLE_HOST', default: '127.0.0.1',
    description: 'address to listen on; reach it from elsewhere through a TLS proxy (its cookies are Secure)', parse: nonEmpty('an address') },
  serveSetting('redis'),
  serveSetting('logLevel'),
  serveSetting('demo'),
  { name: 'approvalLimit', flag: '--approval-limit <yuan>', env: 'AIRCHARGE_APPROVAL_LIMIT', default: undefined,
    description: "a top-up above this many yuan waits for a supervisor's approval (the admin CLI's --approval-limit; default: none)", parse: yuanAtLeastOneFen },
  ...BUSINESS_DAY_SETTINGS,
];

export function resolveConsoleConfig(flags: Record<string, unknown>, env: NodeJS.ProcessEnv): ConsoleConfig {
  const values = resolveSettings(CONSOLE_SETTINGS, flags, env);
  const get = <T>(name: string): T => values.get(name) as T;
  return {
    port: get('port'),
    host: get('host'),
    redisUrl: get('redis'),
    logLevel: get('logLevel'),
    businessDay: businessDayFrom(values),
    demo: get('demo'),
    approvalLimitFen: get<number | undefined>('approvalLimit'),
  };
}

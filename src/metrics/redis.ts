/**
 * Redis command latency and errors, measured where every command of a client passes: its
 * `sendCommand`. Wrapping that one method (as the OpenTelemetry ioredis instrumentation does)
 * covers plain commands, scripts called by SHA, pipelines and MULTI, on a single Redis and on a
 * Cluster (where it sees each command once, redirections included), without touching the core.
 */
import type { Cluster, Command, Redis } from 'ioredis';
import type { Metrics } from './metrics.js';

const instrumented = new WeakSet<Redis | Cluster>();
/**
 * ioredis passes one command through `sendCommand` again when it replays its offline queue after
 * (re)connecting and when a Cluster follows a redirection: each command is measured once, from
 * its first send to its outcome.
 */
const measuring = new WeakSet<Command>();
/**
 * Connection bookkeeping, not workload: on connect ioredis sends CLIENT SETINFO, which Redis
 * before 7.2 refuses (and ioredis ignores); counting it would report errors on every reconnect.
 */
const UNMEASURED = new Set(['client']);

/** Reports every command `client` sends to `metrics`; a second call on the same client is a no-op. */
export function instrumentRedis(client: Redis | Cluster, metrics: Metrics): void {
  if (instrumented.has(client)) return;
  instrumented.add(client);
  const send = client.sendCommand.bind(client) as (command: Command, ...rest: unknown[]) => unknown;
  const measured = (command: Command, ...rest: unknown[]): unknown => {
    if (measuring.has(command) || UNMEASURED.has(command.name)) return send(command, ...rest);
    measuring.add(command);
    const started = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    const name = command.name;
    // A script's first EVALSHA on a connection that lacks it fails NOSCRIPT; ioredis retries it
    // inside `command.promise`, so this sees the outcome the caller sees.
    command.promise.then(
      () => metrics.redisCommandDuration.observe({ command: name }, seconds()),
      (error: unknown) => {
        metrics.redisCommandDuration.observe({ command: name }, seconds());
        metrics.redisErrors.inc({ kind: isReplyError(error) ? 'reply' : 'unavailable' });
      },
    );
    return send(command, ...rest);
  };
  client.sendCommand = measured as typeof client.sendCommand;
}

/** Redis answered with an error (as opposed to no answer: closed connection, timeout, retries out). */
function isReplyError(error: unknown): boolean {
  return error instanceof Error && error.name === 'ReplyError';
}

/**
 * A real Redis Cluster for the tests: `redis-server --cluster-enabled yes` processes on free ports
 * (each one a `startRedis` process, so same data-dir and AOF conventions), joined with
 * `redis-cli --cluster create`, and returned once every node reports `cluster_state:ok`.
 */
import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import { freePort, startRedis, type RedisProcess } from './redis.js';

const run = promisify(execFile);

export interface ClusterNode {
  host: string;
  port: number;
}

export interface RedisClusterProcess {
  /** Every node, masters first (the order `redis-cli --cluster create` was given). */
  nodes: ClusterNode[];
  /** The node list as a `redis+cluster://host:port,host:port,...` URL (README "Operations"). */
  url: string;
  /** The redis-server processes behind `nodes`, same order (tests that kill or restart one node). */
  processes: RedisProcess[];
  /** A fresh ioredis Cluster client; the caller quits it. */
  client(): Cluster;
  /** Stops every node and removes their data directories. */
  stop(): Promise<void>;
}

export interface ClusterOptions {
  /** Master count; a cluster needs at least 3. */
  masters?: number;
  /** Replicas per master (0: no failover, the default and the fast start). */
  replicas?: number;
  /**
   * How long a node may be unreachable before it is marked failed (Redis's default is 15 s). 5 s
   * by default: a failover test can set less, but on a loaded test machine a node can miss pings
   * for a couple of seconds, and then the whole cluster answers CLUSTERDOWN for a while.
   */
  nodeTimeoutMs?: number;
  appendfsync?: 'always' | 'everysec' | 'no';
}

const HOST = '127.0.0.1';

export async function startRedisCluster(options: ClusterOptions = {}): Promise<RedisClusterProcess> {
  const masters = options.masters ?? 3;
  const replicas = options.replicas ?? 0;
  const count = masters * (1 + replicas);

  const processes: RedisProcess[] = [];
  try {
    // Started one after another: freePort() releases its port at once, so asking for every port
    // before any server holds one could hand out the same port twice.
    for (let i = 0; i < count; i++) {
      // The cluster bus gets its own free port (the default port + 10000 may be taken or > 65535).
      const busPort = await freePort();
      processes.push(
        await startRedis({
          ...(options.appendfsync ? { appendfsync: options.appendfsync } : {}),
          extraArgs: [
            '--cluster-enabled', 'yes',
            '--cluster-config-file', 'nodes.conf',
            '--cluster-port', String(busPort),
            '--cluster-node-timeout', String(options.nodeTimeoutMs ?? 5000),
            // A replica's first sync would otherwise wait 5 s for more replicas to share it.
            '--repl-diskless-sync-delay', '0',
          ],
        }),
      );
    }
    const nodes = processes.map((p) => ({ host: HOST, port: p.port }));
    await run('redis-cli', [
      '--cluster', 'create',
      ...nodes.map((n) => `${n.host}:${n.port}`),
      '--cluster-replicas', String(replicas),
      '--cluster-yes',
    ]);
    await waitForClusterOk(nodes, masters * replicas);

    return {
      nodes,
      url: `redis+cluster://${nodes.map((n) => `${n.host}:${n.port}`).join(',')}`,
      processes,
      client: () => new Cluster(nodes, { redisOptions: { maxRetriesPerRequest: 3 } }),
      stop: () => stopAll(processes),
    };
  } catch (error) {
    await stopAll(processes);
    throw error;
  }
}

async function stopAll(processes: RedisProcess[]): Promise<void> {
  await Promise.all(processes.map((p) => p.stop()));
}

/**
 * Every node must say `cluster_state:ok` (until then a node may still answer CLUSTERDOWN), and
 * with replicas, every node must know every replica and every replica's link to its master must
 * be up (else a failover test could kill a master that has no replica in sync yet).
 */
async function waitForClusterOk(nodes: ClusterNode[], replicas: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  const clients = nodes.map((n) => new Redis({ ...n, maxRetriesPerRequest: 1 }));
  const settled = async (client: Redis): Promise<boolean> => {
    if (!/^cluster_state:ok\r?$/m.test(await client.cluster('INFO'))) return false;
    if (replicas === 0) return true;
    const known = ((await client.cluster('NODES')) as string).split('\n').filter((line) => line.split(' ')[2]?.includes('slave'));
    const role = await client.info('replication');
    return known.length === replicas && (!/^role:slave\r?$/m.test(role) || /^master_link_status:up\r?$/m.test(role));
  };
  try {
    for (;;) {
      if ((await Promise.all(clients.map(settled))).every(Boolean)) return;
      if (Date.now() > deadline) throw new Error('Redis Cluster not ok within 15 s');
      await sleep(50);
    }
  } finally {
    for (const c of clients) c.disconnect();
  }
}

/** What a suite needs from either kind of Redis: a URL for CLIs, clients, and a stop. */
export interface RedisBackend {
  url: string;
  client(): Redis | Cluster;
  stop(): Promise<void>;
}

/**
 * The two stores every integration suite runs against (DESIGN "Redis"):
 *   describe.each(REDIS_BACKENDS)('pay on $name', ({ start }) => { ... start() in beforeAll ... })
 * The cluster's URL is the `redis+cluster://` form `--redis` takes.
 */
export const REDIS_BACKENDS: ReadonlyArray<{ name: string; start(): Promise<RedisBackend> }> = [
  { name: 'single Redis', start: () => startRedis() },
  { name: 'Redis Cluster', start: () => startRedisCluster() },
];

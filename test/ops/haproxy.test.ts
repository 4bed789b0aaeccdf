/**
 * The shipped HAProxy configuration, run for real in front of two stand-in gateways (processes
 * that greet with their name, echo, and serve /ready): traffic reaches both, a gateway whose
 * /ready answers 503 gets no new connections (its established ones carry on, as a drain needs),
 * and a killed gateway's new connections go to the survivor.
 */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHIPPED_HAPROXY_OPTIONS, renderHaproxyConfig } from '../../src/ops/haproxy.js';
import { startHaproxy, type HaproxyProcess } from '../helpers/haproxy.js';

const run = promisify(execFile);
const shippedPath = new URL('../../src/ops/haproxy.cfg', import.meta.url);

interface StandIn {
  name: string;
  port: number;
  checkPort: number;
  process: ChildProcessWithoutNullStreams;
  /** Flips /ready; resolves once the process has applied it. */
  setReady(ready: boolean): Promise<void>;
}

async function startStandIn(name: string): Promise<StandIn> {
  const child = spawn(process.execPath, [new URL('./fixtures/echo-gateway.mjs', import.meta.url).pathname, name]);
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => JSON.parse(String((await lines.next()).value)) as Record<string, unknown>;
  const { port, checkPort } = (await next()) as { port: number; checkPort: number };
  return {
    name,
    port,
    checkPort,
    process: child,
    async setReady(ready) {
      child.stdin.write(ready ? 'ready\n' : 'unready\n');
      expect(await next()).toEqual({ ready });
    },
  };
}

async function kill(standIn: StandIn): Promise<void> {
  if (standIn.process.exitCode !== null || standIn.process.signalCode !== null) return;
  const exited = new Promise((resolve) => standIn.process.once('exit', resolve));
  standIn.process.kill('SIGKILL');
  await exited;
}

/** A terminal-side connection through HAProxy: which gateway greeted it, and an echo round trip. */
interface Connection {
  gateway: string;
  socket: Socket;
  echo(text: string): Promise<string>;
}

async function dial(port: number): Promise<Connection> {
  const socket = connect(port, '127.0.0.1');
  const lines = createInterface({ input: socket })[Symbol.asyncIterator]();
  const line = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error('connection closed by HAProxy without an answer');
    return String(value);
  };
  const gateway = await line();
  return {
    gateway,
    socket,
    async echo(text) {
      socket.write(`${text}\n`);
      return line();
    },
  };
}

describe('shipped HAProxy configuration', () => {
  it('is what renderHaproxyConfig makes of SHIPPED_HAPROXY_OPTIONS, and HAProxy accepts it', async () => {
    expect(readFileSync(shippedPath, 'utf8')).toBe(renderHaproxyConfig(SHIPPED_HAPROXY_OPTIONS));
    const { stdout } = await run('haproxy', ['-c', '-f', shippedPath.pathname]);
    expect(stdout).toContain('Configuration file is valid');
  });

  it('checks /ready on each gateway\'s metrics port and balances by least connections', () => {
    const config = renderHaproxyConfig({
      bind: { host: '0.0.0.0', port: 7000 },
      gateways: [{ name: 'a', host: '10.0.0.5', port: 7000, checkPort: 9100 }],
      proxyProtocol: true,
    });
    expect(config).toMatch(/^\s+mode tcp$/m);
    expect(config).toMatch(/^\s+balance leastconn$/m);
    expect(config).toMatch(/^\s+option httpchk GET \/ready$/m);
    expect(config).toMatch(/^\s+server a 10\.0\.0\.5:7000 check port 9100$/m);
    expect(config).toMatch(/^\s+default-server .* send-proxy-v2$/m);
    // Above the gateway's 180 s idle timeout, so the gateway's NOTICE comes first.
    expect(config).toMatch(/^\s+timeout client 240s$/m);
    expect(config).toMatch(/^\s+timeout server 240s$/m);
    expect(() => renderHaproxyConfig({ bind: { host: '0.0.0.0', port: 7000 }, gateways: [] })).toThrow(/at least one/);
  });
});

describe('HAProxy in front of two gateways', () => {
  let a: StandIn;
  let b: StandIn;
  let haproxy: HaproxyProcess;
  const open: Connection[] = [];

  async function dialMany(count: number): Promise<string[]> {
    const connections: Connection[] = [];
    // One after another: leastconn decides each with the previous ones established.
    for (let i = 0; i < count; i++) connections.push(await dial(haproxy.port));
    open.push(...connections);
    return connections.map((c) => c.gateway);
  }

  beforeAll(async () => {
    [a, b] = await Promise.all([startStandIn('A'), startStandIn('B')]);
    haproxy = await startHaproxy({
      gateways: [a, b].map((g) => ({ name: g.name, host: '127.0.0.1', port: g.port, checkPort: g.checkPort })),
      check: { intervalMs: 100, fall: 1, rise: 1 },
    });
    await haproxy.waitForServer('A', 'UP');
    await haproxy.waitForServer('B', 'UP');
  });

  afterAll(async () => {
    for (const c of open) c.socket.destroy();
    await haproxy?.stop();
    await Promise.all([a, b].filter(Boolean).map(kill));
  });

  it('carries traffic to both gateways', async () => {
    const gateways = await dialMany(4);
    expect(new Set(gateways)).toEqual(new Set(['A', 'B']));
    for (const c of open) expect(await c.echo(`hello ${c.gateway}`)).toBe(`hello ${c.gateway}`);
  });

  it('sends no new connection to a gateway whose /ready answers 503, and keeps its established ones', async () => {
    const onA = open.filter((c) => c.gateway === 'A');
    await a.setReady(false);
    await haproxy.waitForServer('A', 'DOWN');

    expect(await dialMany(4)).toEqual(['B', 'B', 'B', 'B']);
    for (const c of onA) expect(await c.echo('still here')).toBe('still here');

    await a.setReady(true);
    await haproxy.waitForServer('A', 'UP');
    // A holds fewer connections now, so least-connections balancing sends the next ones there.
    expect(await dialMany(2)).toEqual(['A', 'A']);
  });

  it('sends new connections to the survivor when a gateway is killed', async () => {
    await kill(b);
    // Straight away, before or after the checks notice: a refused connect is redispatched.
    expect(await dialMany(4)).toEqual(['A', 'A', 'A', 'A']);
    await haproxy.waitForServer('B', 'DOWN');
    expect(await dialMany(2)).toEqual(['A', 'A']);
    for (const c of open.filter((c) => c.gateway === 'A')) expect(await c.echo('after B died')).toBe('after B died');
  });
});

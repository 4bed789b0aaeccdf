/**
 * Connection slots (issue 13 finding 6), played as peers that connect and never sign in: when the
 * instance is full they lose their slots to new connections, so a real terminal is not closed on
 * accept; one address (an IPv6 /64) holds at most its cap. Real sockets from several loopback
 * addresses (127.0.0.x), the gateway in process.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResultCode } from '../../protocol/index.js';
import { Metrics } from '../../src/metrics/index.js';
import { addressGroup } from '../../src/gateway/limits.js';
import { TestTerminal } from '../helpers/terminal.js';
import { startGateway, startNetwork, type Network, type RunningGateway } from '../gateway/fixture.js';

let network: Network;
const running: RunningGateway[] = [];
const sockets: Socket[] = [];

beforeAll(async () => {
  network = await startNetwork();
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  for (const gw of running) await gw.stop();
  await network?.stop();
});

/** A connection from `from` that says nothing; resolves once it is open, and tells when it closes. */
function idle(port: number, from: string): Promise<{ socket: Socket; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress: from });
    sockets.push(socket);
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    socket.on('error', () => {});
    socket.once('connect', () => resolve({ socket, closed }));
    socket.once('error', reject);
  });
}

async function closedCount(metrics: Metrics, reason: string): Promise<number> {
  return (await metrics.connectionsClosed.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

describe('a full instance', () => {
  it('gives the slot of the oldest connection not signed in to a real terminal, which signs in; signed-in ones stay', async () => {
    const metrics = new Metrics({ processMetrics: false });
    const gw = await startGateway(network, { limits: { maxConnections: 20 }, metrics });
    running.push(gw);
    const real = await network.addTerminal();
    const signedIn = await gw.connect(await network.addTerminal());
    expect((await signedIn.signIn()).response.result).toBe(ResultCode.APPROVED);
    // Sixteen addresses fill every other slot, and never sign in.
    const attackers = [];
    for (let i = 0; i < 19; i++) attackers.push(await idle(gw.port, `127.0.0.${2 + (i % 16)}`));
    expect(gw.gateway.connectionCount).toBe(20);
    const terminal = await TestTerminal.connect(gw.port, real.terminalId, real.key);
    expect((await terminal.signIn()).response.result).toBe(ResultCode.APPROVED);
    // The oldest attacker lost its slot; the signed-in terminal kept its own.
    await attackers[0]!.closed;
    expect(await closedCount(metrics, 'evicted')).toBe(1);
    expect(signedIn.isClosed).toBe(false);
    expect(terminal.isClosed).toBe(false);
    terminal.cut();
    signedIn.cut();
  });
});

describe('per address', () => {
  it('holds at most the cap from one address; others are served', async () => {
    const gw = await startGateway(network, { limits: { maxConnectionsPerAddress: 3 } });
    running.push(gw);
    for (let i = 0; i < 3; i++) await idle(gw.port, '127.0.0.20');
    const fourth = await idle(gw.port, '127.0.0.20');
    await fourth.closed;
    expect(gw.gateway.connectionCount).toBe(3);
    const other = await idle(gw.port, '127.0.0.21');
    expect(gw.gateway.connectionCount).toBe(4);
    other.socket.destroy();
  });

  it('groups IPv6 by /64 and an IPv4-mapped address as IPv4', () => {
    expect(addressGroup('2001:db8:1:2:aaaa::1')).toBe(addressGroup('2001:0db8:0001:0002:ffff:eeee:dddd:1'));
    expect(addressGroup('2001:db8:1:2::1')).not.toBe(addressGroup('2001:db8:1:3::1'));
    expect(addressGroup('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(addressGroup('10.1.2.3')).toBe('10.1.2.3');
    expect(addressGroup('::1')).toBe('0:0:0:0::/64');
  });
});

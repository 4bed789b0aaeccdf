/**
 * `serve --proxy-protocol` behind a real HAProxy with `send-proxy-v2` (issue 13 finding 6): the
 * gateway sees each terminal's own address, in its logs and in its per-address cap, though every
 * TCP connection comes from HAProxy; a connection without the header, or with a malformed one, is
 * closed before a byte of it is read as a frame. The header parser is fed split at every byte.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResultCode } from '../../protocol/index.js';
import { MAX_PROXY_BLOCK, PROXY_V2_SIGNATURE, ProxyHeaderError, parseProxyHeader } from '../../src/gateway/proxy-protocol.js';
import { Metrics } from '../../src/metrics/index.js';
import { startHaproxy, type HaproxyProcess } from '../helpers/haproxy.js';
import { TestTerminal } from '../helpers/terminal.js';
import { startGateway, startNetwork, type Network, type RunningGateway } from '../gateway/fixture.js';
import { LogSink } from '../helpers/log-sink.js';

let network: Network;
let gw: RunningGateway;
let haproxy: HaproxyProcess;
let ready: Server;
const log = new LogSink();
const lines = log.lines;
const metrics = new Metrics({ processMetrics: false });

beforeAll(async () => {
  network = await startNetwork();
  gw = await startGateway(network, { proxyProtocol: true, limits: { maxConnectionsPerAddress: 2 }, logLevel: 'info', logTo: log, metrics });
  // HAProxy checks /ready on a metrics port; this stand-in answers it (the check is not under test).
  // HAProxy ends its checks with a reset, which is an 'error' on our side of the check socket.
  ready = createServer((socket) => {
    socket.on('error', () => {});
    socket.end('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n');
  });
  await new Promise<void>((resolve) => ready.listen(0, '127.0.0.1', resolve));
  const checkPort = (ready.address() as { port: number }).port;
  haproxy = await startHaproxy({ gateways: [{ name: 'gw', host: '127.0.0.1', port: gw.port, checkPort }], proxyProtocol: true, check: { intervalMs: 100, fall: 1, rise: 1 } });
  await haproxy.waitForServer('gw', 'UP');
}, 60_000);
afterAll(async () => {
  await haproxy?.stop();
  ready?.close();
  await gw?.stop();
  await network?.stop();
});

/** A terminal connecting through HAProxy from a loopback address of its own. */
function viaHaproxy(from: string, terminal: { terminalId: string; key: Buffer }): Promise<TestTerminal> {
  return TestTerminal.connect(haproxy.port, terminal.terminalId, terminal.key, { localAddress: from });
}

async function closedCount(reason: string): Promise<number> {
  return (await metrics.connectionsClosed.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

describe('behind HAProxy with send-proxy-v2', () => {
  it('logs the terminal\'s own address and caps per that address, not HAProxy\'s', async () => {
    const terminal = await network.addTerminal();
    const t = await viaHaproxy('127.0.0.31', terminal);
    expect((await t.signIn()).response.result).toBe(ResultCode.APPROVED);
    const port = t.socket.localPort!;
    const second = await viaHaproxy('127.0.0.31', await network.addTerminal());
    expect((await second.signIn()).response.result).toBe(ResultCode.APPROVED);
    // A third from the same address is over the cap of 2; another address is not.
    const third = await viaHaproxy('127.0.0.31', await network.addTerminal());
    await third.closed;
    const other = await viaHaproxy('127.0.0.32', await network.addTerminal());
    expect((await other.signIn()).response.result).toBe(ResultCode.APPROVED);
    t.cut();
    await waitFor(() => lines.some((line) => line.msg === 'connection closed' && line.peer === `127.0.0.31:${port}`));
    second.cut();
    other.cut();
  });

  it('closes a connection that skips HAProxy (no header) or sends a malformed header, reading no frame of it', async () => {
    const before = await closedCount('proxy_header');
    const direct = await TestTerminal.connect(gw.port, 'AC000001', Buffer.alloc(32));
    direct.sendRaw(direct.encode(0x01, Buffer.alloc(24)));
    await direct.closed;
    const forged = Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from([0x21, 0x11, 0xff, 0xff])]);
    const bad: Socket = connect(gw.port, '127.0.0.1');
    bad.on('error', () => {});
    bad.write(forged);
    await new Promise((resolve) => bad.once('close', resolve));
    expect(await closedCount('proxy_header')).toBe(before + 2);
  });
});

describe('the header parser', () => {
  const header = Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from([0x21, 0x11, 0x00, 0x0c, 10, 1, 2, 3, 192, 0, 2, 1, 0x30, 0x39, 0x1b, 0x58])]);

  it('reads an IPv4 and an IPv6 header fed byte by byte, and the bytes after it are not its', () => {
    for (let cut = 0; cut < header.length; cut++) expect(parseProxyHeader(header.subarray(0, cut))).toBeNull();
    expect(parseProxyHeader(Buffer.concat([header, Buffer.from('a55a', 'hex')]))).toEqual({ source: { address: '10.1.2.3', port: 12345 }, length: 28 });
    const v6 = Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from([0x21, 0x21, 0x00, 0x24]), Buffer.from('20010db8000100020000000000000001', 'hex'), Buffer.alloc(16), Buffer.from([0x00, 0x50, 0x1b, 0x58])]);
    expect(parseProxyHeader(v6)).toEqual({ source: { address: '2001:db8:1:2:0:0:0:1', port: 80 }, length: 52 });
    const local = Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from([0x20, 0x00, 0x00, 0x00])]);
    expect(parseProxyHeader(local)).toEqual({ source: null, length: 16 });
  });

  it('refuses a wrong signature at its first wrong byte, other versions and families, and an oversized block', () => {
    expect(() => parseProxyHeader(Buffer.from('a55a', 'hex'))).toThrow(ProxyHeaderError);
    expect(() => parseProxyHeader(Buffer.from('PROXY TCP4 1.2.3.4'))).toThrow(ProxyHeaderError);
    const withByte = (at: number, value: number) => { const b = Buffer.from(header); b[at] = value; return b; };
    expect(() => parseProxyHeader(withByte(12, 0x11))).toThrow(/version/);
    expect(() => parseProxyHeader(withByte(13, 0x12))).toThrow(/family/);
    const long = Buffer.from(header);
    long.writeUInt16BE(MAX_PROXY_BLOCK + 1, 14);
    expect(() => parseProxyHeader(long)).toThrow(/block/);
  });
});

async function waitFor(condition: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * `aircharge ops ...`: files operations derives from flags. `ops haproxy-config` renders the
 * HAProxy configuration for a set of gateways (src/ops/haproxy.ts) on stdout or into --out.
 * Exit codes: 0 rendered, 2 bad flags.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { DEFAULT_HAPROXY_MAXCONN, SHIPPED_HAPROXY_OPTIONS, renderHaproxyConfig, type HaproxyGateway } from '../ops/haproxy.js';

class UsageError extends Error {}

interface HaproxyFlags {
  listen: string;
  gateway?: string[];
  maxconn: string;
  proxyProtocol?: boolean;
  stats: string;
  adminSocket: string;
  connRate: string;
  out?: string;
}

/** HOST:PORT, or PORT alone on `defaultHost`. */
function address(flag: string, text: string, defaultHost: string): { host: string; port: number } {
  const match = /^(?:(.+):)?([0-9]{1,5})$/.exec(text);
  const port = Number(match?.[2]);
  if (!match || port < 1 || port > 65535) throw new UsageError(`${flag}: expected HOST:PORT or PORT, got ${JSON.stringify(text)}`);
  return { host: match[1] ?? defaultHost, port };
}

/** HOST:PORT/METRICS_PORT: a gateway's terminal port and the metrics port where /ready is checked. */
function gateway(text: string, index: number): HaproxyGateway {
  const [terminal = '', check = ''] = text.split('/');
  if (!/^[0-9]{1,5}$/.test(check)) throw new UsageError(`--gateway: expected HOST:PORT/METRICS_PORT, got ${JSON.stringify(text)}`);
  const { host, port } = address('--gateway', terminal, '127.0.0.1');
  return { name: `gw${index + 1}`, host, port, checkPort: Number(check) };
}

function whole(flag: string, text: string, min: number): number {
  if (!/^[0-9]+$/.test(text) || Number(text) < min) throw new UsageError(`${flag}: expected a whole number from ${min}, got ${JSON.stringify(text)}`);
  return Number(text);
}

export function registerOps(program: Command): void {
  const group = program.command('ops').description('operations files rendered from flags');
  const shipped = SHIPPED_HAPROXY_OPTIONS.gateways.map((g) => `${g.host}:${g.port}/${g.checkPort}`).join(' ');
  group
    .command('haproxy-config')
    .description('render the HAProxy configuration (TCP mode, leastconn, /ready checks) for your gateways')
    .option('--listen <[host:]port>', 'where terminals connect', '0.0.0.0:7000')
    .option('--gateway <host:port/metrics-port...>', `a gateway's terminal port and metrics port, once per gateway (default: ${shipped})`)
    .option('--maxconn <n>', 'connections held at once; HAProxy needs LimitNOFILE >= 2 x maxconn + 1000', String(DEFAULT_HAPROXY_MAXCONN))
    .option('--proxy-protocol', "send the PROXY protocol v2 header to the gateways (run them with serve --proxy-protocol), so they see terminals' addresses")
    .option('--stats <[host:]port|none>', "HAProxy's stats page (/stats) and Prometheus exporter (/metrics)", '127.0.0.1:8404')
    .option('--admin-socket <path|none>', 'runtime API socket (take a gateway out by hand)', '/run/haproxy/admin.sock')
    .option('--conn-rate <n>', 'new connections per source address per 10 s before HAProxy refuses (0: no limit)', '500')
    .option('--out <file>', 'write the configuration to this file instead of stdout')
    .addHelpText('after', '\nExample:\n  aircharge ops haproxy-config --listen 7000 --gateway 10.0.1.5:7001/9101 --gateway 10.0.1.6:7001/9101 --maxconn 9000 > /etc/haproxy/haproxy.cfg')
    .action((flags: HaproxyFlags) => {
      try {
        const connRate = whole('--conn-rate', flags.connRate, 0);
        const config = renderHaproxyConfig({
          bind: address('--listen', flags.listen, '0.0.0.0'),
          gateways: flags.gateway ? flags.gateway.map(gateway) : SHIPPED_HAPROXY_OPTIONS.gateways,
          maxConnections: whole('--maxconn', flags.maxconn, 1),
          ...(flags.stats === 'none' ? {} : { stats: address('--stats', flags.stats, '127.0.0.1') }),
          ...(flags.adminSocket === 'none' ? {} : { adminSocket: flags.adminSocket }),
          ...(connRate === 0 ? {} : { connectionsPer10sPerAddress: connRate }),
          proxyProtocol: flags.proxyProtocol === true,
        });
        if (flags.out) writeFileSync(flags.out, config);
        else process.stdout.write(config);
      } catch (error) {
        if (!(error instanceof UsageError)) throw error;
        process.stderr.write(`aircharge ops haproxy-config: ${error.message}\n`);
        process.exitCode = 2;
      }
    });
}

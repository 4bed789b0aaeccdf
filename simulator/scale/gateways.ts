/**
 * Gateway processes for a scale run: `aircharge serve --demo` with `--port 0 --metrics-port 0`, so
 * the kernel picks both ports as the process binds them (no port chosen ahead and lost to another
 * process in between); the ports are read back from the "metrics listening" and "listening" log
 * lines. HAProxy checks each gateway's /ready on its metrics port.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { GATEWAY_BIN, type GatewayService } from '../processes.js';

export interface GatewayProcess extends GatewayService {
  name: string;
  /** Where /metrics, /health and /ready answer. */
  metricsPort: number;
}

export async function startGatewayProcess(options: { name: string; redisUrl: string; logFile: string; args: string[] }): Promise<GatewayProcess> {
  const args = [
    GATEWAY_BIN, 'serve', '--demo', '--allow-unauthenticated-redis', '--host', '127.0.0.1', '--port', '0', '--metrics-port', '0',
    '--instance-id', options.name, '--redis', options.redisUrl, ...options.args,
  ];
  const fd = openSync(options.logFile, 'a');
  const child = spawn(process.execPath, args, { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const running = () => child.exitCode === null && child.signalCode === null;

  async function stop(graceMs = 10_000): Promise<void> {
    if (!running()) return;
    child.kill('SIGTERM'); // a graceful drain
    if (!(await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]))) child.kill('SIGKILL');
    await exited;
  }

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (!running()) throw new Error(`gateway ${options.name} exited with ${child.exitCode}; see ${options.logFile}`);
    const port = portLogged(options.logFile, 'listening');
    const metricsPort = portLogged(options.logFile, 'metrics listening');
    // The metrics endpoint is up before the terminal port, so both are known once "listening" is.
    if (port !== null && metricsPort !== null) {
      return { name: options.name, process: child, pid: child.pid ?? -1, logFile: options.logFile, port, metricsPort, stop };
    }
    if (Date.now() > deadline) {
      await stop(1000);
      throw new Error(`gateway ${options.name} did not log "listening" within 30 s; see ${options.logFile}`);
    }
    await sleep(50);
  }
}

/** The port field of the first JSON log line with this message, or null before it is written. */
function portLogged(logFile: string, msg: string): number | null {
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.includes(`"msg":"${msg}"`)) continue;
    try {
      const port = (JSON.parse(line) as { port?: unknown }).port;
      if (typeof port === 'number') return port;
    } catch {
      // a line still being written
    }
  }
  return null;
}

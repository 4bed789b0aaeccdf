/**
 * The operations endpoint of one gateway instance, on its own port (never the terminal port):
 *   GET /metrics  Prometheus text exposition of the instance's registry
 *   GET /health   200 while the process runs and its event loop answers (liveness)
 *   GET /ready    200 while the instance takes new terminals, 503 otherwise (HAProxy's check);
 *                 a draining gateway turns this false first, so HAProxy stops sending to it
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface OpsServerOptions {
  /** 0 picks a free port (tests); the bound port is returned. */
  port: number;
  /** Default 127.0.0.1: metrics are for the operator's network, not the terminals'. */
  host?: string;
  metrics: { registry: Registry; scrape(): Promise<string> };
  ready: () => boolean;
}

export interface OpsServer {
  port: number;
  server: Server;
  close(): Promise<void>;
}

export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const { metrics } = options;
  const server = createServer((req, res) => {
    respond(req, res).catch((error: unknown) => {
      text(res, 500, `metrics failed: ${error instanceof Error ? error.message : String(error)}\n`);
    });
  });

  async function respond(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return text(res, 405, 'GET only\n');
    const path = (req.url ?? '/').split('?', 1)[0];
    switch (path) {
      case '/metrics': {
        const body = await metrics.scrape();
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        res.end(req.method === 'HEAD' ? undefined : body);
        return;
      }
      case '/health':
        return text(res, 200, 'ok\n');
      case '/ready':
        return options.ready() ? text(res, 200, 'ready\n') : text(res, 503, 'not ready\n');
      default:
        return text(res, 404, 'not found\n');
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    server,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Scrapers and health checkers keep connections alive; they must not hold the exit.
        server.closeAllConnections();
      }),
  };
}

function text(res: ServerResponse, status: number, body: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(body);
}

/**
 * `npm run load -- --scenario throughput --biller http`: the same throughput run twice in one
 * process, on one Redis and one seeded network: first with the embedded biller, then with the
 * gateway restarted against the reference billing system (`aircharge-sim biller`, its own process,
 * the same bill extract imported, requests signed), so the ratio of the two rates is measured on
 * the same machine in the same minute. The biller's CPU per payment is counted with the others.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { authHeaders } from '../../src/biller/http-auth.js';
import { startGateway, startReferenceBiller } from '../processes.js';
import type { Stack } from './stack.js';
import { throughput } from './throughput.js';

type Options = Parameters<typeof throughput>[1];

/** The ratio the issue asks for: payments/s against the reference biller ≥ 0.6 × embedded. */
export const HTTP_RATIO_TARGET = 0.6;

export async function throughputVsHttpBiller(stack: Stack, options: Options & { work: string; log: (line: string) => void }) {
  const embedded = await throughput(stack, options);
  options.log(`embedded biller: ${embedded.figures.approvedPerSec} payments/s`);
  const secretFile = join(options.work, 'biller.secret');
  writeFileSync(secretFile, `load-${Date.now()}-reference-biller-secret\n`);
  const biller = await startReferenceBiller({
    dataDir: join(options.work, 'biller'),
    logFile: join(options.work, 'biller.log'),
    secretFile,
    args: ['--log-level', 'warn'],
  });
  try {
    const secret = Buffer.from(readFileSync(secretFile, 'utf8').trim());
    const body = stack.network.extract ?? '';
    const imported = await fetch(`${biller.url}/v1/admin/bills`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv', ...authHeaders('hmac', secret, 'POST', '/v1/admin/bills', body, Date.now()) },
      body,
    });
    if (imported.status !== 200) throw new Error(`the reference biller refused the extract: ${await imported.text()}`);
    await stack.gateway.stop();
    stack.gateway = await startGateway({
      redisUrl: stack.redisUrl,
      logFile: join(options.work, 'gateway-http.log'),
      args: ['--log-level', 'warn', '--connection-rate', '0', '--request-rate', '0', '--biller', biller.url, '--biller-secret-file', secretFile],
    });
    options.log(`gateway pid ${stack.gateway.pid} restarted with --biller ${biller.url} (biller pid ${biller.pid})`);
    const http = await throughput(stack, { ...options, baselineSec: 0, others: { biller: biller.pid } });
    const ratio = embedded.figures.approvedPerSec === 0 ? null : Math.round((http.figures.approvedPerSec / embedded.figures.approvedPerSec) * 1000) / 1000;
    return {
      figures: {
        scenario: 'throughput',
        biller: 'http',
        approvedPerSec: { embedded: embedded.figures.approvedPerSec, http: http.figures.approvedPerSec },
        ratio: { httpVsEmbedded: ratio, target: HTTP_RATIO_TARGET, met: ratio === null ? null : ratio >= HTTP_RATIO_TARGET },
        cpuUsPerPayment: { embedded: embedded.figures.cpuUsPerPayment, http: http.figures.cpuUsPerPayment },
        latencyMs: { embedded: embedded.figures.latencyMs, http: http.figures.latencyMs },
        counts: { embedded: embedded.figures.counts, http: http.figures.counts },
        terminals: http.figures.terminals,
        durationSec: http.figures.durationSec,
        loadAverage: http.figures.loadAverage,
      },
      timeline: http.timeline,
      distribution: http.distribution,
    };
  } finally {
    await biller.stop();
  }
}

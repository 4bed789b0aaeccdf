/**
 * The biller over https with a private CA: certificates made here with openssl (a CA, a server
 * certificate it signs for 127.0.0.1, and a second, unrelated CA), the reference biller serving TLS
 * as its own process. HttpBiller with the right CA file (--biller-ca-file) talks to it; with the
 * wrong CA, or the system's CAs, the connection is refused and nothing is sent. The gateway
 * (`serve --biller https://... --biller-ca-file`) takes a payment over it, and the admin CLI
 * reconciles over it with AIRCHARGE_BILLER_CA_FILE.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdmin, type BillerReconciliation } from '../../src/admin/index.js';
import { connectBiller } from '../../src/biller/connect.js';
import { BillerError, BillerErrorCode } from '../../src/biller/errors.js';
import { DEMO_MASTER_KEY } from '../../src/store/secrets.js';
import { SIM_BIN, startGateway, startReferenceBiller, type BillerService, type GatewayService } from '../../simulator/processes.js';
import { runAircharge, type CliRun } from '../helpers/cli.js';
import { startRedis, type RedisProcess } from '../helpers/redis.js';
import { EXTRACT, SECRET } from './fixture.js';

let dir: string;
let biller: BillerService;
let redisProcess: RedisProcess;
let gateway: GatewayService | undefined;
const file = (name: string) => join(dir, name);

function openssl(args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A CA (its certificate and key) named `name`. */
function makeCa(name: string): void {
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`,
    '-days', '2', '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
}

const settings = (caFile: string | undefined) => ({
  url: biller.url, secretFile: file('secret'), auth: 'hmac' as const, caFile, timeoutMs: 3_000, breakerThreshold: 50, breakerCooldownMs: 1_000,
});

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ac-biller-tls-'));
  writeFileSync(file('secret'), `${SECRET}\n`);
  makeCa('ca');
  makeCa('other-ca');
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
  writeFileSync(file('server.ext'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n');
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext']);
  writeFileSync(file('extract.csv'), EXTRACT);
  // The bills go in before it serves: the offline import of its own store.
  execFileSync(process.execPath, [SIM_BIN, 'biller', 'import', file('extract.csv'), '--data', file('data')], { stdio: 'pipe' });
  biller = await startReferenceBiller({
    dataDir: file('data'), logFile: file('biller.log'), secretFile: file('secret'),
    args: ['--tls-cert', file('server.pem'), '--tls-key', file('server.key')],
  });
  redisProcess = await startRedis();
}, 60_000);
afterAll(async () => {
  await gateway?.stop(5_000);
  await biller?.stop(2_000);
  await redisProcess?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the biller over TLS with a CA file', { timeout: 60_000 }, () => {
  it('serves https; HttpBiller with the CA that signed it looks up and posts', async () => {
    expect(biller.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const { biller: http, pool } = connectBiller(settings(file('ca.pem')));
    try {
      expect((await http.lookup('1000000002'))?.arrearsFen).toBe(2_000);
      const day = 20200101; // not the day the gateway's payment below is reconciled under
      expect(await http.post({ receipt: 'TLS000010000000001', account: '1000000002', amountFen: 500, at: Date.now(), day })).toMatchObject({ arrearsFen: 1_500 });
      expect((await http.posting('TLS000010000000001'))?.amountFen).toBe(500);
    } finally {
      await pool.close();
    }
  });

  it('refuses the connection under another CA, or the system CAs: ERR_BILLER_CONNECTION, nothing posted', async () => {
    for (const caFile of [file('other-ca.pem'), undefined]) {
      const { biller: http, pool } = connectBiller(settings(caFile));
      try {
        const error = await http.post({ receipt: 'TLS000010000000002', account: '1000000002', amountFen: 100, at: Date.now(), day: 20200101 }).then(() => null, (e: unknown) => e);
        expect(error).toBeInstanceOf(BillerError);
        expect((error as BillerError).code).toBe(BillerErrorCode.CONNECTION);
        expect((error as BillerError).message).toMatch(/CERT|SELF_SIGNED|UNABLE_TO/i);
      } finally {
        await pool.close();
      }
    }
    const { biller: http, pool } = connectBiller(settings(file('ca.pem')));
    try {
      expect(await http.posting('TLS000010000000002')).toBeNull();
    } finally {
      await pool.close();
    }
  });

  it('the gateway pays over it (--biller-ca-file), and reconcile --fetch reads the day over it (AIRCHARGE_BILLER_CA_FILE)', async () => {
    const admin = createAdmin({ redis: redisProcess.client(), masterKey: DEMO_MASTER_KEY, operator: 'test' });
    await admin.addMerchant('TL1', 'Shop TL1');
    await admin.topUp('TL1', 100_000);
    const { key } = await admin.addTerminal('TLST0001', 'TL1');
    gateway = await startGateway({
      redisUrl: redisProcess.url,
      logFile: file('gateway.log'),
      args: ['--biller', biller.url, '--biller-secret-file', file('secret'), '--biller-ca-file', file('ca.pem'), '--log-level', 'warn'],
    });
    const paid = await new Promise<CliRun>((resolve) =>
      execFile(process.execPath, [SIM_BIN, 'pay', '1000000003', '12.34', '--port', String(gateway!.port), '--terminal', 'TLST0001', '--key', key, '--state', file('state'), '--json'],
        (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr })),
    );
    expect(paid.code, paid.stderr).toBe(0);
    const receipt = JSON.parse(paid.stdout).receipt as string;
    const day = admin.businessDay();
    const env = { REDIS_URL: redisProcess.url, AIRCHARGE_BILLER_URL: biller.url, AIRCHARGE_BILLER_SECRET_FILE: file('secret') };
    const good = await runAircharge(['reconcile', 'biller', '--day', String(day), '--fetch', '--json'], { ...env, AIRCHARGE_BILLER_CA_FILE: file('ca.pem') });
    expect(good.code, good.stderr).toBe(0);
    expect((JSON.parse(good.stdout) as BillerReconciliation).lines.map((l) => [l.receipt, l.status])).toEqual([[receipt, 'matched']]);
    const wrong = await runAircharge(['reconcile', 'biller', '--day', String(day), '--fetch', '--json'], { ...env, AIRCHARGE_BILLER_CA_FILE: file('other-ca.pem') });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/no connection/);
  });
});

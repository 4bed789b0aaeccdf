/** A reference biller process for the biller tests: its data directory, secret and bill extract. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { authHeaders } from '../../src/biller/http-auth.js';
import { startReferenceBiller, type BillerService } from '../../simulator/processes.js';

export const SECRET = 'test-biller-secret-0123456789';
export const EXTRACT = [
  'account,name,bill_id,period,amount,issue_date,status',
  '1000000001,Zhang San,B-1-202510,202510,100.00,2025-11-01,open',
  '1000000001,Zhang San,B-1-202511,202511,50.50,2025-12-01,open',
  '1000000002,Li Si,B-2-202511,202511,20.00,2025-12-01,open',
  '1000000003,Wang Wu,B-3-202511,202511,1000.00,2025-12-01,open',
].join('\n');

export interface BillerFixture {
  dir: string;
  secretFile: string;
  biller: BillerService;
  /** Kills (SIGKILL by default) and starts it again on the same port and data. */
  restart(signal?: NodeJS.Signals): Promise<void>;
  close(): Promise<void>;
}

export async function startBillerFixture(args: string[] = [], options: { secret?: boolean } = {}): Promise<BillerFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'ac-biller-'));
  const secretFile = join(dir, 'secret');
  writeFileSync(secretFile, `${SECRET}\n`);
  const start = (port?: number) =>
    startReferenceBiller({
      dataDir: join(dir, 'data'),
      logFile: join(dir, 'biller.log'),
      ...(options.secret === false ? {} : { secretFile }),
      ...(port === undefined ? {} : { port }),
      args,
    });
  const fixture: BillerFixture = {
    dir,
    secretFile,
    biller: await start(),
    async restart(signal = 'SIGKILL') {
      const { port } = fixture.biller;
      fixture.biller.process.kill(signal);
      await new Promise((resolve) => (fixture.biller.process.exitCode !== null || fixture.biller.process.signalCode !== null ? resolve(null) : fixture.biller.process.once('exit', resolve)));
      fixture.biller = await start(port);
    },
    async close() {
      await fixture.biller.stop(2000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  const imported = await signed(fixture.biller.url, 'POST', '/v1/admin/bills', EXTRACT, 'text/csv');
  if (imported.status !== 200) throw new Error(`import failed: ${imported.text}`);
  return fixture;
}

/** One request signed as HttpBiller signs it (or with the given headers instead). */
export async function signed(
  base: string,
  method: string,
  path: string,
  body = '',
  type = 'application/json',
  override?: Record<string, string>,
): Promise<{ status: number; text: string; json: any; headers: Record<string, string | string[] | undefined> }> {
  const headers: Record<string, string> = {
    ...(body === '' ? {} : { 'content-type': type }),
    ...(override ?? authHeaders('hmac', Buffer.from(SECRET), method, path, body, Date.now())),
  };
  const response = await request(new URL(path, base), { method: method as 'GET', headers, body: body === '' ? null : body });
  const text = await response.body.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    // CSV
  }
  return { status: response.statusCode, text, json, headers: response.headers };
}

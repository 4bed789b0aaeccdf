/**
 * The reference biller (a real process, real HTTP) against src/biller/openapi.yaml: every request
 * the test sends is valid by the file's request schemas, and every answer, success or error, is
 * valid by the response schema of its operation and status (Ajv, JSON Schema 2020-12). The same
 * calls check the API's rules: idempotent postings, conflicts, declines, the day's file,
 * authentication played as an attacker, faults, and durability across kill -9.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { authHeaders, DATE_HEADER } from '../../src/biller/http-auth.js';
import { POSTINGS_CSV_HEADER } from '../../src/biller/http-api.js';
import { SECRET, signed, startBillerFixture, type BillerFixture } from './fixture.js';

const doc = parse(readFileSync(join(import.meta.dirname, '../../src/biller/openapi.yaml'), 'utf8')) as any;
const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addSchema({ $id: 'api', components: doc.components });

function operation(id: string): any {
  for (const methods of Object.values<any>(doc.paths)) for (const op of Object.values<any>(methods)) if (op.operationId === id) return op;
  throw new Error(`no operation ${id}`);
}

function deref(node: any): any {
  return node?.$ref ? deref(node.$ref.split('/').slice(1).reduce((n: any, k: string) => n[k], doc)) : node;
}

/** The answer must be declared for the operation, with a body valid by its schema. */
function conforms(id: string, answer: { status: number; json: unknown; text: string; headers: Record<string, unknown> }): void {
  const response = deref(operation(id).responses[String(answer.status)]);
  expect(response, `${id} does not declare status ${answer.status}`).toBeDefined();
  const type = String(answer.headers['content-type'] ?? '').split(';')[0]!;
  const media = response.content[type];
  expect(media, `${id} ${answer.status} does not declare ${type}`).toBeDefined();
  const errors = validateRef(media.schema, type === 'application/json' ? answer.json : answer.text);
  expect(errors, `${id} ${answer.status}: ${answer.text}`).toEqual([]);
}

function validateRef(schema: any, value: unknown): string[] {
  const check = ajv.compile(rebase(schema));
  return check(value) ? [] : (check.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

/** Refs inside the file are '#/components/...'; from a standalone schema they point into 'api'. */
function rebase(schema: any): any {
  return JSON.parse(JSON.stringify(schema).replace(/"#\/components\//g, '"api#/components/'));
}

function requestBody(id: string, body: unknown): string {
  const media = operation(id).requestBody.content['application/json'];
  expect(validateRef(media.schema, body)).toEqual([]);
  return JSON.stringify(body);
}

let fx: BillerFixture;
let url: string;
const now = Date.now();
const DAY = 20261203;

beforeAll(async () => {
  fx = await startBillerFixture();
  url = fx.biller.url;
});
afterAll(async () => {
  await fx?.close();
});

describe('the reference biller against openapi.yaml', () => {
  it('looks up an account with its bills; unknown and malformed accounts have their codes', async () => {
    const found = await signed(url, 'GET', '/v1/accounts/1000000001');
    conforms('lookupAccount', found);
    expect(found.json).toMatchObject({ account: '1000000001', name: 'Zhang San', arrearsFen: 15_050, status: 'open' });
    expect(found.json.bills.map((b: any) => b.period)).toEqual([202510, 202511]);
    const missing = await signed(url, 'GET', '/v1/accounts/1999999999');
    conforms('lookupAccount', missing);
    expect(missing.json.code).toBe('ACCOUNT_NOT_FOUND');
    const bad = await signed(url, 'GET', '/v1/accounts/x%27%3B');
    conforms('lookupAccount', bad);
    expect(bad.json.code).toBe('BAD_REQUEST');
    conforms('health', await signed(url, 'GET', '/v1/health', '', '', {}));
  });

  it('books a payment once by receipt, answers a repeat with the first answer, refuses another amount under it', async () => {
    const body = requestBody('putPosting', { kind: 'payment', account: '1000000001', amountFen: 12_000, at: now, day: DAY });
    const first = await signed(url, 'PUT', '/v1/postings/T000000010000000001', body);
    conforms('putPosting', first);
    expect(first.status).toBe(201);
    // Oldest period first: 100.00 of 202510, then 20.00 of 202511.
    expect(first.json).toMatchObject({ status: 'booked', arrearsFen: 3_050, kind: 'payment', day: DAY });
    expect(first.json.bills).toEqual([
      { billId: 'B-1-202510', period: 202510, amountFen: 10_000 },
      { billId: 'B-1-202511', period: 202511, amountFen: 2_000 },
    ]);
    const again = await signed(url, 'PUT', '/v1/postings/T000000010000000001', body);
    conforms('putPosting', again);
    expect(again.status).toBe(200);
    expect(again.json).toEqual(first.json);
    const other = requestBody('putPosting', { kind: 'payment', account: '1000000001', amountFen: 12_001, at: now, day: DAY });
    const conflict = await signed(url, 'PUT', '/v1/postings/T000000010000000001', other);
    conforms('putPosting', conflict);
    expect(conflict.status).toBe(409);
    expect(conflict.json.code).toBe('RECEIPT_CONFLICT');
    const account = await signed(url, 'GET', '/v1/accounts/1000000001');
    expect(account.json.arrearsFen).toBe(3_050);
    expect(account.json.bills.map((b: any) => b.paidFen)).toEqual([10_000, 2_000]);
    const queried = await signed(url, 'GET', '/v1/postings/T000000010000000001');
    conforms('getPosting', queried);
    expect(queried.json).toEqual(first.json);
    const none = await signed(url, 'GET', '/v1/postings/T000000010000009999');
    conforms('getPosting', none);
    expect(none.json.code).toBe('POSTING_NOT_FOUND');
  });

  it('declines for good: overpayment with what is owed, unknown account; a declined receipt stays declined', async () => {
    const over = await signed(url, 'PUT', '/v1/postings/T000000010000000002',
      requestBody('putPosting', { kind: 'payment', account: '1000000002', amountFen: 2_001, at: now, day: DAY }));
    conforms('putPosting', over);
    expect(over.json).toMatchObject({ status: 'declined', reason: 'OVERPAYMENT', arrearsFen: 2_000 });
    const unknown = await signed(url, 'PUT', '/v1/postings/T000000010000000003',
      requestBody('putPosting', { kind: 'payment', account: '1999999999', amountFen: 100, at: now, day: DAY }));
    conforms('putPosting', unknown);
    expect(unknown.json).toMatchObject({ status: 'declined', reason: 'UNKNOWN_ACCOUNT' });
    // The account gets a bill big enough now; the declined receipt is still declined.
    const again = await signed(url, 'PUT', '/v1/postings/T000000010000000002',
      JSON.stringify({ kind: 'payment', account: '1000000002', amountFen: 2_001, at: now, day: DAY }));
    expect(again.json.status).toBe('declined');
  });

  it('reverses exactly what a payment cleared, once', async () => {
    const pay = await signed(url, 'PUT', '/v1/postings/T000000010000000004',
      requestBody('putPosting', { kind: 'payment', account: '1000000003', amountFen: 30_000, at: now, day: DAY }));
    expect(pay.json.arrearsFen).toBe(70_000);
    const reversal = { kind: 'reversal', account: '1000000003', amountFen: 30_000, original: 'T000000010000000004', at: now, day: DAY };
    const reversed = await signed(url, 'PUT', '/v1/postings/T000000010000000005', requestBody('putPosting', reversal));
    conforms('putPosting', reversed);
    expect(reversed.json).toMatchObject({ status: 'booked', arrearsFen: 100_000, original: 'T000000010000000004' });
    const twice = await signed(url, 'PUT', '/v1/postings/T000000010000000006', requestBody('putPosting', reversal));
    expect(twice.json).toMatchObject({ status: 'declined', reason: 'ORIGINAL_NOT_FOUND' });
  });

  it("serves the day's postings file: booked postings only, in booking order", async () => {
    const day = (await signed(url, 'GET', '/v1/postings/T000000010000000001')).json.day as number;
    expect(day).toBe(DAY);
    const file = await signed(url, 'GET', `/v1/postings?day=${day}`);
    conforms('dayPostings', file);
    const lines = file.text.trim().split('\n');
    expect(lines[0]).toBe(POSTINGS_CSV_HEADER);
    expect(lines.slice(1).map((l) => l.split(',').slice(1, 6).join(','))).toEqual([
      'T000000010000000001,1000000001,payment,120.00,',
      'T000000010000000004,1000000003,payment,300.00,',
      'T000000010000000005,1000000003,reversal,300.00,T000000010000000004',
    ]);
    conforms('dayPostings', await signed(url, 'GET', '/v1/postings?day=2026'));
  });

  it('imports an extract idempotently and refuses, whole, one that changes a paid bill', async () => {
    const extract = [
      'account,name,bill_id,period,amount,issue_date,status',
      '1000000001,Zhang San,B-1-202510,202510,100.00,2025-11-01,open',
      '1000000004,Zhao Liu,B-4-202511,202511,10.00,2025-12-01,open',
    ].join('\n');
    const imported = await signed(url, 'POST', '/v1/admin/bills', extract, 'text/csv');
    conforms('importBills', imported);
    expect(imported.json).toMatchObject({ added: 1, unchanged: 1 });
    const changed = extract.replace('100.00,2025-11-01', '90.00,2025-11-01').replace('B-4-202511,202511,10.00', 'B-4-202511,202511,11.00');
    const refused = await signed(url, 'POST', '/v1/admin/bills', changed, 'text/csv');
    conforms('importBills', refused);
    expect(refused.json.code).toBe('IMPORT_CONFLICT');
    // Nothing of the refused file was taken: the unpaid bill B-4 keeps its amount.
    expect((await signed(url, 'GET', '/v1/accounts/1000000004')).json.arrearsFen).toBe(1_000);
  });

  it('refuses an attacker: no signature, another secret, a body swapped under a signature, an old signature', async () => {
    const path = '/v1/postings/T000000010000000007';
    const body = JSON.stringify({ kind: 'payment', account: '1000000002', amountFen: 100, at: now, day: DAY });
    for (const headers of [
      {},
      authHeaders('hmac', Buffer.from('another-secret-0123456789'), 'PUT', path, body, Date.now()),
      authHeaders('hmac', Buffer.from(SECRET), 'PUT', path, body.replace('100', '1'), Date.now()),
      authHeaders('hmac', Buffer.from(SECRET), 'PUT', '/v1/postings/T000000010000000008', body, Date.now()),
      authHeaders('bearer', Buffer.from('wrong-token-0123456789'), 'PUT', path, body, Date.now()),
    ]) {
      const answer = await signed(url, 'PUT', path, body, 'application/json', headers);
      conforms('putPosting', answer);
      expect(answer.json.code).toBe('UNAUTHORIZED');
    }
    const old = Date.now() - 301_000;
    const stale = await signed(url, 'PUT', path, body, 'application/json', authHeaders('hmac', Buffer.from(SECRET), 'PUT', path, body, old));
    conforms('putPosting', stale);
    expect(stale.json.code).toBe('CLOCK_SKEW');
    expect(stale.headers[DATE_HEADER]).toBeUndefined();
    // None of them booked anything; the bearer token is accepted.
    const bearer = await signed(url, 'GET', path, '', '', authHeaders('bearer', Buffer.from(SECRET), 'GET', path, '', 0));
    expect(bearer.json.code).toBe('POSTING_NOT_FOUND');
    const log = readFileSync(join(fx.dir, 'biller.log'), 'utf8');
    expect(log).not.toContain(SECRET);
  });

  it('answers malformed requests with BAD_REQUEST and oversized ones with PAYLOAD_TOO_LARGE', async () => {
    for (const body of ['{', '[]', JSON.stringify({ kind: 'payment', account: '1000000001', amountFen: 1.5, at: now, day: DAY }),
      JSON.stringify({ kind: 'payment', account: '1000000001', amountFen: 1, at: now, extra: 1 }),
      JSON.stringify({ kind: 'reversal', account: '1000000001', amountFen: 1, at: now, day: DAY })]) {
      const answer = await signed(url, 'PUT', '/v1/postings/T000000010000000009', body);
      conforms('putPosting', answer);
      expect(answer.json.code).toBe('BAD_REQUEST');
    }
    const huge = await signed(url, 'PUT', '/v1/postings/T000000010000000009', JSON.stringify({ pad: 'x'.repeat(70_000) }));
    conforms('putPosting', huge);
    expect(huge.status).toBe(413);
  });

  it('injects faults at run time: errors, a down window with Retry-After, and back', async () => {
    const set = async (faults: unknown) => {
      const answer = await signed(url, 'PUT', '/v1/admin/faults', requestBody('putFaults', faults));
      conforms('putFaults', answer);
      return answer;
    };
    await set({ errorRate: 1 });
    const failed = await signed(url, 'GET', '/v1/accounts/1000000001');
    conforms('lookupAccount', failed);
    expect(failed.json.code).toBe('INTERNAL');
    await set({ errorRate: 0, downForMs: 60_000 });
    const down = await signed(url, 'GET', '/v1/postings/T000000010000000001');
    conforms('getPosting', down);
    expect(down.status).toBe(503);
    expect(down.headers['retry-after']).toBe('5');
    expect((await signed(url, 'PUT', '/v1/admin/faults', JSON.stringify({ errorRate: 2 }))).json.code).toBe('BAD_REQUEST');
    const back = await set({ downForMs: 0 });
    expect(back.json).toEqual({ latencyMs: 0, errorRate: 0, downUntil: 0, bookNoAnswerRate: 0 });
    conforms('getFaults', await signed(url, 'GET', '/v1/admin/faults'));
  });

  it('keeps every booked posting across kill -9 and a restart, and still refuses another amount', async () => {
    await fx.restart('SIGKILL');
    const kept = await signed(url, 'GET', '/v1/postings/T000000010000000001');
    expect(kept.json).toMatchObject({ status: 'booked', amountFen: 12_000 });
    expect((await signed(url, 'GET', '/v1/accounts/1000000001')).json.arrearsFen).toBe(3_050);
    const conflict = await signed(url, 'PUT', '/v1/postings/T000000010000000001',
      JSON.stringify({ kind: 'payment', account: '1000000001', amountFen: 1, at: now, day: DAY }));
    expect(conflict.json.code).toBe('RECEIPT_CONFLICT');
    expect((await signed(url, 'PUT', '/v1/postings/T000000010000000006',
      JSON.stringify({ kind: 'reversal', account: '1000000003', amountFen: 30_000, original: 'T000000010000000004', at: now, day: DAY }))).json.reason)
      .toBe('ORIGINAL_NOT_FOUND');
  });
});

/**
 * The reference billing system: the biller API (src/biller/API.md) over HTTP, on its own store
 * (log.ts + ledger.ts, in its own data directory; it never touches the gateway's Redis), with
 * faults (faults.ts). An answer that says a posting is booked is sent only once its record is
 * fsynced, so kill -9 and a restart keep every booked posting.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { formatYuan } from '../../src/admin/money.js';
import { csvLine } from '../../src/admin/csv.js';
import { DATE_HEADER, verifyRequest } from '../../src/biller/http-auth.js';
import {
  ACCOUNT_PATTERN,
  ApiErrorCode,
  POSTINGS_CSV_HEADER,
  RECEIPT_PATTERN,
  type ApiFaults,
  type ApiPostingRequest,
} from '../../src/biller/http-api.js';
import { ExtractError, parseExtract } from './extract.js';
import { Faults, type DownWindow } from './faults.js';
import { ImportConflictError, Ledger, type LedgerRecord, type PostingRecord } from './ledger.js';
import { AppendLog } from './log.js';

export const LEDGER_FILE = 'ledger.jsonl';
export const LOCK_FILE = 'LOCK';
const API_BODY_LIMIT = 64 * 1024;
const IMPORT_BODY_LIMIT = 256 * 1024 * 1024;

export interface BillerServerOptions {
  port: number;
  host: string;
  dataDir: string;
  /** Shared secret; null: no authentication (a warning is logged). */
  secret: Buffer | null;
  clockWindowMs: number;
  faults: Partial<ApiFaults>;
  downWindows: DownWindow[];
  logger: Logger;
  /** Serve https with this certificate chain and key (PEM); none: plain http. */
  tls?: { cert: Buffer; key: Buffer };
}

export interface BillerServer {
  port: number;
  faults: Faults;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(readonly status: number, readonly code: ApiErrorCode, message: string) {
    super(message);
  }
}

export async function startBillerServer(options: BillerServerOptions): Promise<BillerServer> {
  mkdirSync(options.dataDir, { recursive: true });
  writeFileSync(join(options.dataDir, LOCK_FILE), String(process.pid));
  const { log, records } = await AppendLog.open<LedgerRecord>(join(options.dataDir, LEDGER_FILE));
  const ledger = new Ledger();
  for (const record of records) ledger.apply(record);
  const faults = new Faults(options.faults, options.downWindows);
  const { logger } = options;
  if (options.secret === null) logger.warn('no --secret-file: requests are not authenticated (tests and demos only)');
  /** A posting's record on disk: answers about it wait for this, so none reports what a crash could lose. */
  const durable = new Map<string, Promise<void>>();
  const held = new Set<Socket>();

  async function book(receipt: string, request: ApiPostingRequest): Promise<{ record: PostingRecord; created: boolean }> {
    const known = ledger.posting(receipt);
    if (known === null) {
      const record = ledger.decide(receipt, request, Date.now());
      ledger.apply(record);
      const written = log.append(record);
      durable.set(receipt, written);
      await written;
      durable.delete(receipt);
      logger.info({ receipt, kind: record.posting.kind, status: record.posting.status, reason: record.posting.reason }, 'posting decided');
      return { record, created: true };
    }
    const same = known.kind === request.kind && known.account === request.account && known.amountFen === request.amountFen &&
      (known.original ?? null) === (request.original ?? null);
    if (!same) {
      throw new HttpError(409, ApiErrorCode.RECEIPT_CONFLICT, `receipt ${receipt} was posted with another ${known.kind}, account or amount`);
    }
    await durable.get(receipt);
    return { record: { t: 'posting', posting: known }, created: false };
  }

  async function route(req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer): Promise<void> {
    const parts = url.pathname.split('/').filter((p) => p !== '');
    const method = req.method ?? 'GET';
    if (parts[0] !== 'v1') throw new HttpError(404, ApiErrorCode.NOT_FOUND, 'no such resource');
    const [, resource, id, ...rest] = parts;
    if (rest.length > 0) throw new HttpError(404, ApiErrorCode.NOT_FOUND, 'no such resource');

    if (resource === 'admin') {
      if (id === 'faults' && method === 'GET') return json(res, 200, faults.get());
      if (id === 'faults' && method === 'PUT') {
        try {
          return json(res, 200, faults.update(parseJson(body) as Partial<ApiFaults>));
        } catch (error) {
          throw new HttpError(400, ApiErrorCode.BAD_REQUEST, (error as Error).message);
        }
      }
      if (id === 'bills' && method === 'POST') {
        const { records: bills, result } = ledger.planImport(parseExtract(body.toString('utf8')));
        for (const bill of bills) ledger.apply(bill);
        await Promise.all(bills.map((b) => log.append(b)));
        logger.info(result, 'bills imported');
        return json(res, 200, result);
      }
      throw new HttpError(404, ApiErrorCode.NOT_FOUND, 'no such resource');
    }

    await injectFaults();
    if (resource === 'accounts' && id !== undefined && method === 'GET') {
      if (!ACCOUNT_PATTERN.test(id)) throw new HttpError(400, ApiErrorCode.BAD_REQUEST, 'bad account number');
      const account = ledger.account(id);
      if (account === null) throw new HttpError(404, ApiErrorCode.ACCOUNT_NOT_FOUND, 'no such account');
      return json(res, 200, account);
    }
    if (resource === 'postings' && id === undefined && method === 'GET') {
      const day = url.searchParams.get('day') ?? '';
      if (!/^[0-9]{8}$/.test(day)) throw new HttpError(400, ApiErrorCode.BAD_REQUEST, 'day must be YYYYMMDD');
      const lines = [POSTINGS_CSV_HEADER];
      for (const p of ledger.dayPostings(Number(day))) {
        lines.push(csvLine([p.day, p.receipt, p.account, p.kind, formatYuan(p.amountFen), p.original ?? '', p.bookedAt]));
      }
      res.writeHead(200, { 'content-type': 'text/csv; charset=utf-8' });
      res.end(`${lines.join('\n')}\n`);
      return;
    }
    if (resource === 'postings' && id !== undefined) {
      if (!RECEIPT_PATTERN.test(id)) throw new HttpError(400, ApiErrorCode.BAD_REQUEST, 'bad receipt');
      if (method === 'GET') {
        await durable.get(id);
        const posting = ledger.posting(id);
        if (posting === null) throw new HttpError(404, ApiErrorCode.POSTING_NOT_FOUND, 'no posting under that receipt');
        return json(res, 200, posting);
      }
      if (method === 'PUT') {
        const { record, created } = await book(id, parsePostingRequest(body));
        if (created && faults.booksWithoutAnswer()) {
          // Booked and on disk; the caller never hears it (the socket is held until it gives up).
          held.add(req.socket);
          req.socket.once('close', () => held.delete(req.socket));
          logger.warn({ receipt: id }, 'fault: booked the posting and will not answer');
          return;
        }
        return json(res, created ? 201 : 200, record.posting);
      }
    }
    throw new HttpError(404, ApiErrorCode.NOT_FOUND, 'no such resource');
  }

  async function injectFaults(): Promise<void> {
    const latency = faults.latencyMs();
    if (latency > 0) await sleep(latency);
    if (faults.down(Date.now())) throw new HttpError(503, ApiErrorCode.UNAVAILABLE, 'the billing system is down (batch window)');
    if (faults.fails()) throw new HttpError(500, ApiErrorCode.INTERNAL, 'injected failure');
  }

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://biller');
    const limit = url.pathname === '/v1/admin/bills' ? IMPORT_BODY_LIMIT : API_BODY_LIMIT;
    readBody(req, limit)
      .then(async (body) => {
        if (url.pathname === '/v1/health') return json(res, 200, { status: 'ok' });
        if (options.secret !== null) {
          const refused = verifyRequest(options.secret, {
            method: req.method ?? 'GET',
            pathWithQuery: `${url.pathname}${url.search}`,
            body,
            authorization: req.headers.authorization,
            date: header(req, DATE_HEADER),
          }, Date.now(), options.clockWindowMs);
          if (refused !== null) {
            logger.warn({ method: req.method, path: url.pathname, code: refused }, 'request refused');
            throw new HttpError(401, refused, refused === 'CLOCK_SKEW' ? 'request time outside the clock window' : 'not authenticated');
          }
        }
        await route(req, res, url, body);
      })
      .catch((error: unknown) => {
        const known = toHttpError(error);
        if (known.status >= 500 && known.code === ApiErrorCode.INTERNAL && !(error instanceof HttpError)) logger.error({ err: error }, 'request failed');
        if (known.status === 503) res.setHeader('retry-after', '5');
        json(res, known.status, { code: known.code, message: known.message });
      });
  };
  const server = options.tls === undefined
    ? createServer({ keepAliveTimeout: 60_000 }, handler)
    : createHttpsServer({ keepAliveTimeout: 60_000, cert: options.tls.cert, key: options.tls.key }, handler);
  server.on('connection', (socket: Socket) => socket.setNoDelay(true));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ port, host: options.host, tls: options.tls !== undefined, dataDir: options.dataDir, records: records.length }, 'biller listening');
  return {
    port,
    faults,
    async close() {
      for (const socket of held) socket.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await log.close();
      rmSync(join(options.dataDir, LOCK_FILE), { force: true });
    },
  };
}

function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof ExtractError) return new HttpError(400, ApiErrorCode.BAD_REQUEST, error.message);
  if (error instanceof ImportConflictError) return new HttpError(409, ApiErrorCode.IMPORT_CONFLICT, error.message);
  return new HttpError(500, ApiErrorCode.INTERNAL, 'internal error');
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new HttpError(413, ApiErrorCode.PAYLOAD_TOO_LARGE, `body over ${limit} bytes`));
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, ApiErrorCode.BAD_REQUEST, 'the body is not JSON');
  }
}

function parsePostingRequest(body: Buffer): ApiPostingRequest {
  const value = parseJson(body) as Record<string, unknown> | null;
  const bad = (why: string) => new HttpError(400, ApiErrorCode.BAD_REQUEST, why);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad('the body must be a JSON object');
  const { kind, account, amountFen, original, at, day } = value;
  if (kind !== 'payment' && kind !== 'reversal') throw bad('kind must be payment or reversal');
  if (typeof account !== 'string' || !ACCOUNT_PATTERN.test(account)) throw bad('bad account');
  if (typeof amountFen !== 'number' || !Number.isSafeInteger(amountFen) || amountFen < 1 || amountFen > 0xffffffff) {
    throw bad('amountFen must be a whole number of fen from 1 to 4294967295');
  }
  if (typeof at !== 'number' || !Number.isSafeInteger(at) || at < 0) throw bad('at must be epoch milliseconds');
  if (typeof day !== 'number' || !Number.isSafeInteger(day) || day < 19000101 || day > 99991231) throw bad('day must be YYYYMMDD');
  if (kind === 'reversal' && (typeof original !== 'string' || !RECEIPT_PATTERN.test(original))) throw bad('a reversal needs its original receipt');
  if (kind === 'payment' && original !== undefined) throw bad('a payment has no original');
  for (const key of Object.keys(value)) {
    if (!['kind', 'account', 'amountFen', 'original', 'at', 'day'].includes(key)) throw bad(`unknown field ${key}`);
  }
  return { kind, account, amountFen, at, day, ...(kind === 'reversal' ? { original: original as string } : {}) };
}

function json(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * Bulk provisioning: merchants and their terminals from one CSV file
 * (`merchant_id,merchant_name,terminal_id`, one terminal a row; a merchant's rows repeat its name).
 *
 * The whole file is checked before anything is written: malformed rows, a terminal listed twice,
 * a merchant named two ways, and conflicts with what Redis holds (a merchant there under another
 * name, a terminal there under another merchant) refuse the import with every problem listed.
 * What already exists as the file says is left alone, so a re-run after a failure finishes the
 * job: existing merchants are reused, existing terminals keep their keys and are only counted.
 * New terminals' keys go to `persistKeys` before any of them is written to Redis, so no key of a
 * created terminal can be lost; after a crash mid-import, a re-run gives the terminals not created
 * yet new keys (in a new file), which supersede the first file's lines for them.
 * Redis work goes out in concurrent batches (pipelined on one connection), not one round trip a row.
 */
import { randomBytes } from 'node:crypto';
import { TERMINAL_KEY_SIZE } from '../../protocol/constants.js';
import { keys } from '../store/keys.js';
import { coalesceRedisWrites } from '../store/script.js';
import { sealVersioned, terminalKeyAad } from '../store/secrets.js';
import { requireMasterKey, type AdminContext } from './context.js';
import { parseCsv } from './csv.js';
import { AdminError, AdminErrorCode } from './errors.js';
import { CREATE_MERCHANT, checkMerchantId, checkName } from './merchants.js';
import { CREATE_TERMINAL, checkTerminalId } from './terminals.js';

export const TERMINALS_CSV_HEADER = ['merchant_id', 'merchant_name', 'terminal_id'] as const;

/** A new terminal's clear key, for the keys file; never stored in Redis unsealed. */
export interface NewTerminalKey {
  terminalId: string;
  merchantId: string;
  key: string;
}

export interface TerminalImport {
  rows: number;
  merchants: { created: number; existing: number };
  terminals: { created: number; existing: number };
}

/** Commands in flight at once: enough to fill the pipe, bounded so 20,000 rows do not queue 80,000 promises. */
const BATCH = 2_000;

async function inBatches<T>(items: T[], run: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += BATCH) await Promise.all(items.slice(i, i + BATCH).map(run));
}

interface Row {
  line: number;
  merchantId: string;
  merchantName: string;
  terminalId: string;
}

function parseRows(csvText: string): Row[] {
  const { records, errors } = parseCsv(csvText);
  const [header, ...body] = records;
  if (header === undefined || header.fields.join(',') !== TERMINALS_CSV_HEADER.join(',')) {
    throw new AdminError(AdminErrorCode.CSV, `the first line must be the header ${TERMINALS_CSV_HEADER.join(',')}`);
  }
  const problems = [...errors];
  const rows: Row[] = [];
  const names = new Map<string, string>();
  const seen = new Map<string, number>();
  for (const { line, fields } of body) {
    if (fields.length !== TERMINALS_CSV_HEADER.length) {
      problems.push(`line ${line}: ${fields.length} fields, expected ${TERMINALS_CSV_HEADER.length}`);
      continue;
    }
    const [merchantId = '', merchantName = '', terminalId = ''] = fields;
    try {
      checkMerchantId(merchantId);
      checkName(merchantName);
      checkTerminalId(terminalId);
    } catch (error) {
      problems.push(`line ${line}: ${(error as Error).message}`);
      continue;
    }
    const named = names.get(merchantId);
    if (named !== undefined && named !== merchantName) {
      problems.push(`line ${line}: merchant ${merchantId} is named ${JSON.stringify(named)} on an earlier line`);
      continue;
    }
    names.set(merchantId, merchantName);
    const first = seen.get(terminalId);
    if (first !== undefined) {
      problems.push(`line ${line}: terminal ${terminalId} is already on line ${first}`);
      continue;
    }
    seen.set(terminalId, line);
    rows.push({ line, merchantId, merchantName, terminalId });
  }
  if (problems.length > 0) throw new AdminError(AdminErrorCode.CSV, `${problems.length} bad rows; nothing imported`, problems);
  if (rows.length === 0) throw new AdminError(AdminErrorCode.CSV, 'no rows after the header; nothing imported');
  return rows;
}

export async function importTerminals(
  context: AdminContext,
  csvText: string,
  persistKeys: (created: NewTerminalKey[]) => Promise<void>,
): Promise<TerminalImport> {
  const masterKey = requireMasterKey(context);
  const rows = parseRows(csvText);
  const { redis } = context;
  // Each batch's commands leave in a few socket writes instead of one write a command.
  coalesceRedisWrites(redis);

  // What Redis holds already, read in batches.
  const merchantNames = new Map<string, string>();
  for (const row of rows) merchantNames.set(row.merchantId, row.merchantName);
  const existingMerchants = new Set<string>();
  const conflicts: string[] = [];
  await inBatches([...merchantNames], async ([id, name]) => {
    const held = await redis.hget(keys.merchant(id), 'name');
    if (held === null) return;
    existingMerchants.add(id);
    if (held !== name) conflicts.push(`merchant ${id} exists named ${JSON.stringify(held)}, the file says ${JSON.stringify(name)}`);
  });
  const existingTerminals = new Set<string>();
  await inBatches(rows, async (row) => {
    const owner = await redis.get(keys.terminalMerchant(row.terminalId));
    if (owner === null) return;
    if (owner !== row.merchantId) {
      conflicts.push(`line ${row.line}: terminal ${row.terminalId} exists under merchant ${owner}`);
    } else if (await redis.exists(keys.terminal(owner, row.terminalId))) {
      existingTerminals.add(row.terminalId);
    } // else: claimed by a crashed earlier run and never created; created below.
  });
  if (conflicts.length > 0) {
    conflicts.sort();
    throw new AdminError(AdminErrorCode.CONFLICT, `${conflicts.length} rows conflict with what is provisioned; nothing imported`, conflicts);
  }

  const toCreate = rows.filter((row) => !existingTerminals.has(row.terminalId));
  const created = toCreate.map((row) => ({ row, key: randomBytes(TERMINAL_KEY_SIZE) }));
  await persistKeys(created.map(({ row, key }) => ({ terminalId: row.terminalId, merchantId: row.merchantId, key: key.toString('hex') })));

  const now = context.now();
  const newMerchants = [...merchantNames].filter(([id]) => !existingMerchants.has(id));
  await inBatches(newMerchants, async ([id, name]) => {
    await CREATE_MERCHANT.run(redis, [keys.merchant(id)], [id, name, now]);
    await redis.sadd(keys.merchants(), id);
  });
  const lost: string[] = [];
  await inBatches(created, async ({ row, key }) => {
    // The index entry claims the id first, as addTerminal does; a claim by another merchant since
    // the check above (a concurrent add) loses this terminal, reported below.
    const claimed = await redis.set(keys.terminalMerchant(row.terminalId), row.merchantId, 'NX');
    if (claimed === null && (await redis.get(keys.terminalMerchant(row.terminalId))) !== row.merchantId) {
      lost.push(`terminal ${row.terminalId}: provisioned meanwhile by someone else; its key in the keys file is void`);
      return;
    }
    const made = await CREATE_TERMINAL.run(redis, [keys.terminal(row.merchantId, row.terminalId), keys.terminals(row.merchantId)],
      [row.terminalId, row.merchantId, sealVersioned(masterKey, key, terminalKeyAad(row.merchantId, row.terminalId, 1)), now]);
    if (made === 0) lost.push(`terminal ${row.terminalId}: provisioned meanwhile by someone else; its key in the keys file is void`);
  });
  if (lost.length > 0) {
    throw new AdminError(AdminErrorCode.CONFLICT, `${lost.length} terminals were added by someone else during the import`, lost);
  }
  return {
    rows: rows.length,
    merchants: { created: newMerchants.length, existing: existingMerchants.size },
    terminals: { created: created.length, existing: existingTerminals.size },
  };
}

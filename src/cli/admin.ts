/**
 * The operator's commands: `aircharge merchant|terminal|float|accounts|report|journal|verify|biller|reconcile ...`.
 * Each command talks to Redis through the operator API (src/admin), prints a human-readable
 * answer or, with --json, exactly one JSON object on stdout, and on failure exits 1 with the
 * reason on stderr (with --json, also `{"error": {code, message, details}}` on stdout).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { Command } from 'commander';
import {
  AdminError,
  AdminErrorCode,
  createAdmin,
  fleetCsv,
  formatYuan,
  healthText,
  journalCsv,
  journalJsonLines,
  parseDate,
  formatDate,
  formatPeriod,
  postingFacts,
  requestInWords,
  txnCsv,
  parseTerminalKey,
  parseDuration,
  parseSince,
  parseYuan,
  reconcileCsv,
  reconcileText,
  reportCsv,
  reportSummary,
  type Account,
  type Admin,
  type AdminOptions,
  type Approval,
  type AuditEntry,
  type Txn,
  type TxnDetail,
  type QueuedPosting,
  type QueueLine,
  type VerifyResult,
  type DailyReport,
  type DayLimits,
  type Merchant,
  type Terminal,
  TERMINALS_CSV_HEADER,
  generatedReference,
  statementCsv,
} from '../admin/index.js';
import type { DayPosting } from '../biller/biller.js';
import { formatPostingsFile, parsePostingsFile } from '../biller/postings-file.js';
import { KeysFile, readKeySource } from '../admin/keys-file.js';
import { BILLER_QUEUE_SETTINGS, BILLER_SETTINGS, BUSINESS_DAY_SETTINGS, CASH_NEAR_SETTINGS, LOW_FLOAT_SETTINGS, resolveBiller, resolveBillerQueue, resolveBusinessDay, resolveCashNear, resolveLowFloat } from '../config.js';
import type { ConnectedBiller } from '../biller/connect.js';
import { checkMasterKey } from '../store/key-check.js';
import { MasterKeyError, takeMasterKey, takePreviousMasterKey } from '../store/secrets.js';
import { redactRedisUrl } from '../redis-url.js';
import { connectRedis, redisUrl } from './redis.js';
import { printJsonError } from './json-errors.js';

interface CommonOptions {
  redis?: string;
  json?: boolean;
  demo?: boolean;
  operator?: string;
}

/** What a command prints: `json` with --json, `text` otherwise. */
interface Output {
  json: unknown;
  text: string;
  /** Non-zero when the command ran but found a problem (verify). */
  exitCode?: number;
}

type Run<O> = (admin: Admin, args: string[], options: O & CommonOptions) => Promise<Output>;

/** What a command adds to createAdmin's options beyond the store and the master key. */
type Tune<O> = (options: O & CommonOptions) => Partial<AdminOptions>;

/**
 * Declares one admin command with the options every command shares and the one way it reports
 * success and failure. `masterKey`: the command seals terminal keys and needs AIRCHARGE_MASTER_KEY
 * (or --demo). `businessDay`: the command names business days and takes the gateway's rule
 * (--business-day-cutoff, --utc-offset, or their environment variables).
 */
function adminCommand<O>(
  parent: Command,
  spec: string,
  description: string,
  run: Run<O>,
  needs: { masterKey?: boolean; businessDay?: boolean; lowFloat?: boolean; cashNear?: boolean; operatorFilter?: boolean; money?: boolean; biller?: boolean; tune?: Tune<O> } = {},
): Command {
  const command = parent
    .command(spec)
    .description(description)
    .option('--redis <url>', 'Redis URL (default: REDIS_URL, else redis://127.0.0.1:6379)')
    .option('--json', 'print one JSON object');
  // `audit list --operator` filters by operator instead: a read is not audited, so it needs no identity.
  if (!needs.operatorFilter) {
    command.option('--operator <name>', 'who is acting, for the audit log (default: AIRCHARGE_OPERATOR); money actions need it');
  }
  if (needs.money) {
    command.option('--approval-limit <yuan>', 'above this amount a second operator must approve (default: AIRCHARGE_APPROVAL_LIMIT, else none)');
  }
  if (needs.masterKey) {
    command.option('--demo', 'use the public demo master key when AIRCHARGE_MASTER_KEY is unset (never for real money)');
  }
  if (needs.businessDay) {
    for (const setting of BUSINESS_DAY_SETTINGS) {
      command.option(setting.flag, `${setting.description}; env ${setting.env} (default: ${setting.default})`);
    }
  }
  if (needs.biller) {
    for (const setting of BILLER_SETTINGS) {
      command.option(setting.flag, `${setting.description}; env ${setting.env}${setting.default === undefined ? '' : ` (default: ${setting.default})`}`);
    }
  }
  if (needs.lowFloat) {
    for (const setting of LOW_FLOAT_SETTINGS) {
      command.option(setting.flag, `${setting.description}; env ${setting.env} (default: ${setting.default})`);
    }
  }
  if (needs.cashNear) {
    for (const setting of CASH_NEAR_SETTINGS) {
      command.option(setting.flag, `${setting.description}; env ${setting.env} (default: ${setting.default})`);
    }
  }
  command.action(async (...received: unknown[]) => {
    const self = received.at(-1) as Command;
    const options = self.opts<O & CommonOptions>();
    const args = self.processedArgs as string[];
    let redis: ReturnType<typeof connectRedis> | undefined;
    let biller: ConnectedBiller | null = null;
    try {
      const masterKey = needs.masterKey ? takeMasterKey({ demo: options.demo === true }) : null;
      const previousKey = needs.masterKey ? takePreviousMasterKey() : null;
      const url = redisUrl(options.redis);
      redis = connectRedis(url, { failFast: true });
      // A failed connection surfaces as the command's error below, explained with this cause.
      let connectionError: string | undefined;
      redis.on('error', (error: Error) => (connectionError = error.message));
      const masterKeys = masterKey === null ? null : await checkMasterKey(redis, masterKey, previousKey);
      const businessDay = needs.businessDay ? { businessDay: resolveBusinessDay(options, process.env) } : {};
      const lowFloat = needs.lowFloat ? { lowFloat: resolveLowFloat(options, process.env) } : {};
      const cashNear = needs.cashNear ? { cashNear: resolveCashNear(options, process.env) } : {};
      const operator = (needs.operatorFilter ? undefined : options.operator) ?? (process.env.AIRCHARGE_OPERATOR || undefined);
      const limit = needs.money ? ((options as { approvalLimit?: string }).approvalLimit ?? (process.env.AIRCHARGE_APPROVAL_LIMIT || undefined)) : undefined;
      const billerConfig = needs.biller ? resolveBiller(options, process.env) : null;
      // Loaded only when asked for, as serve does: undici is heavy for every other command.
      if (billerConfig !== null) biller = (await import('../biller/connect.js')).connectBiller(billerConfig);
      const admin = createAdmin({
        ...needs.tune?.(options),
        ...(biller === null ? {} : { biller: biller.biller, billerUrl: billerConfig!.url }),
        ...businessDay,
        ...lowFloat,
        ...cashNear,
        redis,
        masterKey: masterKeys,
        ...(operator === undefined ? {} : { operator }),
        ...(limit === undefined ? {} : { approvalLimitFen: parseYuan(limit) }),
      });
      const output = await run(admin, args, options).catch((error: unknown) => {
        throw explainConnectionError(error, url, connectionError);
      });
      const text = options.json ? JSON.stringify(output.json) : output.text;
      if (text !== '') process.stdout.write(`${text}\n`);
      process.exitCode = output.exitCode ?? 0;
    } catch (error) {
      fail(error, options.json === true);
    } finally {
      redis?.disconnect();
      await biller?.pool.close();
    }
  });
  return command;
}

function explainConnectionError(error: unknown, url: string, connectionError: string | undefined): unknown {
  if (error instanceof AdminError || connectionError === undefined) return error;
  return new Error(`cannot reach Redis at ${redactRedisUrl(url)}: ${connectionError}`);
}

function fail(error: unknown, json: boolean): void {
  const message = error instanceof Error ? error.message : String(error);
  const code = error instanceof AdminError || error instanceof MasterKeyError ? error.code : 'ERR_FAILED';
  const details = error instanceof AdminError ? error.details : [];
  if (json) printJsonError(code, message, details);
  process.stderr.write(`aircharge: ${message}\n`);
  // Stored for a second operator: not applied, and not a failure either.
  process.exitCode = code === AdminErrorCode.PENDING_APPROVAL ? EXIT_PENDING_APPROVAL : 1;
}

/** Exit code of a money action above the approval limit: stored, waiting for `aircharge approve ID`. */
const EXIT_PENDING_APPROVAL = 3;

const yuan = (fen: number) => formatYuan(fen, { grouped: true });
const count = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function limitsText(limits: DayLimits): string {
  if (limits.count === null && limits.amountFen === null) return 'none';
  return [
    limits.count === null ? null : `${limits.count} payments`,
    limits.amountFen === null ? null : `${yuan(limits.amountFen)} yuan`,
  ].filter((part) => part !== null).join(', ') + ' a day';
}

function balanceText(m: Merchant): string {
  return m.kind === 'collector'
    ? `cash ${yuan(m.cashFen)} of ${yuan(m.cashLimitFen)}${m.nearCashLimit ? ' NEAR LIMIT' : ''}`
    : `float ${yuan(m.floatFen)}${m.lowFloat ? ' LOW' : ''}`;
}

function merchantText(m: Merchant): string {
  const balance = m.kind === 'collector'
    ? [`cash held ${yuan(m.cashFen)} yuan (${m.cashFen} fen), limit ${yuan(m.cashLimitFen)} yuan${m.nearCashLimit ? ', NEAR CASH LIMIT' : ''}`]
    : [
        `float     ${yuan(m.floatFen)} yuan (${m.floatFen} fen)${m.lowFloat ? ', LOW FLOAT' : ''}`,
        `threshold ${m.lowFloatThresholdFen === null ? 'default' : `${yuan(m.lowFloatThresholdFen)} yuan`}`,
      ];
  return [
    `merchant  ${m.id}`,
    `name      ${m.name}`,
    `kind      ${m.kind}`,
    `status    ${m.status}`,
    ...balance,
    `limits    ${limitsText(m.limits)}`,
    `terminals ${m.terminals.length === 0 ? '-' : m.terminals.join(' ')}`,
    `created   ${new Date(m.createdAt).toISOString()}`,
  ].join('\n');
}

/** One terminal on one line: who, whether it may sign in, where and how it is, its key and mark. */
function terminalLine(admin: Admin, t: Terminal): string {
  const limits = t.limits.count === null && t.limits.amountFen === null ? '' : `  limits ${limitsText(t.limits)}`;
  const where = [
    t.online ? `online on ${t.instance}` : 'offline',
    t.lastSeen === null ? 'never seen' : `seen ${admin.localTime(t.lastSeen)}`,
    t.firmware === null ? null : `firmware ${t.firmware}`,
    t.signedInAt === null ? null : `signed in ${admin.localTime(t.signedInAt)}`,
    `bad MACs ${t.badMacs}`,
    t.health === null ? 'health not reported' : healthText(t.health),
  ].filter((part) => part !== null).join('  ');
  return `${t.terminalId}  ${t.merchantId}  ${t.status}  ${where}  key v${t.keyVersion}  last seq ${t.hwm}${limits}`;
}

/** `--count N --amount YUAN`, either or both; `--clear` removes both. */
function limitsOf(options: { count?: string; amount?: string; clear?: boolean }): DayLimits {
  if (options.clear) return { count: null, amountFen: null };
  if (options.count === undefined && options.amount === undefined) {
    throw new AdminError(AdminErrorCode.INVALID, 'give --count N, --amount YUAN, both, or --clear');
  }
  const count = options.count === undefined ? null : Number(options.count);
  if (count !== null && (!/^[1-9][0-9]{0,8}$/.test(options.count ?? ''))) {
    throw new AdminError(AdminErrorCode.INVALID, `--count must be a whole number above zero, not ${JSON.stringify(options.count)}`);
  }
  return { count, amountFen: options.amount === undefined ? null : parseYuan(options.amount) };
}

function registerMerchant(program: Command): void {
  const group = program.command('merchant').description('merchants (outlets): add, list, show, disable, enable');
  adminCommand<{ name: string; kind: string; cashLimit?: string }>(
    group,
    'add <id>',
    'add a merchant: an outlet (a shop with a float, empty at first) or a collector (an electrician who carries cash up to --cash-limit)',
    async (admin, [id = ''], options) => {
      const kind = choice('--kind', options.kind, ['outlet', 'collector']) as 'outlet' | 'collector';
      const merchant = await admin.addMerchant(id, options.name, {
        kind,
        ...(options.cashLimit === undefined ? {} : { cashLimitFen: parseYuan(options.cashLimit) }),
      });
      const what = merchant.kind === 'collector' ? `collector, cash limit ${yuan(merchant.cashLimitFen)} yuan` : 'float 0.00 yuan';
      return { json: merchant, text: `merchant ${merchant.id} added (${merchant.name}), ${what}` };
    },
  )
    .requiredOption('--name <name>', "the merchant's name (printed on its receipts)")
    .option('--kind <kind>', 'outlet or collector', 'outlet')
    .option('--cash-limit <yuan>', "a collector's cash-in-hand limit: beyond it PAY is declined CASH_LIMIT");

  adminCommand<{ lowFloat?: boolean; nearCashLimit?: boolean }>(group, 'list', 'list every merchant with its float or cash held', async (admin, _args, options) => {
    if (options.lowFloat && options.nearCashLimit) throw new AdminError(AdminErrorCode.INVALID, '--low-float and --near-cash-limit list different merchants: give one');
    const merchants = options.lowFloat
      ? await admin.lowFloatMerchants()
      : options.nearCashLimit ? await admin.nearCashLimitMerchants() : await admin.listMerchants();
    const lines = merchants.map((m) => `${m.id}  ${m.kind}  ${m.status}  ${balanceText(m)}  terminals ${m.terminals.length}  ${m.name}`);
    const none = options.lowFloat ? 'no outlet is low on float' : options.nearCashLimit ? 'no collector is near his cash limit' : 'no merchants';
    return { json: { merchants }, text: lines.length === 0 ? none : lines.join('\n') };
  })
    .option('--low-float', 'only outlets in the low-float warning state, lowest float first')
    .option('--near-cash-limit', 'only collectors in the near-cash-limit state (told to hand cash in), the largest share of their limit first');

  adminCommand<{ clear?: boolean }>(
    group,
    'set-threshold <id> [yuan]',
    "an outlet's own low-float threshold in yuan (--clear: back to the configured default); the state follows at its next float change",
    async (admin, [id = '', amount], options) => {
      if (!options.clear && amount === undefined) throw new AdminError(AdminErrorCode.INVALID, 'give the threshold in yuan, or --clear');
      const merchant = await admin.setLowFloatThreshold(id, options.clear ? null : parseYuan(amount ?? ''));
      const shown = merchant.lowFloatThresholdFen === null ? 'the default' : `${yuan(merchant.lowFloatThresholdFen)} yuan`;
      return { json: merchant, text: `merchant ${merchant.id}: low-float threshold ${shown}` };
    },
  ).option('--clear', 'use the configured default threshold');

  adminCommand<{ count?: string; amount?: string; clear?: boolean }>(
    group,
    'set-limits <id>',
    "daily caps on the merchant's payments, all its terminals together, by business day: beyond them PAY is declined MERCHANT_DAY_LIMIT",
    async (admin, [id = ''], options) => {
      const merchant = await admin.setMerchantLimits(id, limitsOf(options));
      return { json: merchant, text: `merchant ${merchant.id}: limits ${limitsText(merchant.limits)}` };
    },
  )
    .option('--count <n>', 'payments a business day')
    .option('--amount <yuan>', 'yuan a business day (a payment that reaches it exactly is approved)')
    .option('--clear', 'remove both caps');

  adminCommand(group, 'show <id>', 'show a merchant, its float (floatFen) and terminals', async (admin, [id = '']) => {
    const merchant = await admin.showMerchant(id);
    return { json: merchant, text: merchantText(merchant) };
  });

  adminCommand(group, 'disable <id>', "disable a merchant: its terminals can no longer sign in or pay", async (admin, [id = '']) => {
    const merchant = await admin.disableMerchant(id);
    return { json: merchant, text: `merchant ${merchant.id} disabled` };
  });

  adminCommand(group, 'enable <id>', 'enable a disabled merchant again', async (admin, [id = '']) => {
    const merchant = await admin.enableMerchant(id);
    return { json: merchant, text: `merchant ${merchant.id} enabled` };
  });
}

function registerTerminal(program: Command): void {
  const group = program
    .command('terminal')
    .description('terminals: add, list, disable, enable, rotate-key, reset-seq (keys are stored encrypted under AIRCHARGE_MASTER_KEY)');
  adminCommand<{ merchant: string; key?: string; keyFile?: string }>(
    group,
    'add <id>',
    'provision a terminal (8 of 0-9 A-Z) for a merchant; prints its key once, as `key`',
    async (admin, [id = ''], options) => {
      const key = givenKey(options, id);
      const provisioned = await admin.addTerminal(id, options.merchant, key);
      return {
        json: provisioned,
        text: `terminal ${provisioned.terminalId} added to merchant ${provisioned.merchantId}\nkey ${provisioned.key}\n(shown once: load it into the terminal now)`,
      };
    },
    { masterKey: true },
  )
    .requiredOption('--merchant <id>', 'the merchant it belongs to')
    .option('--key <hex>', 'use this key (64 hex digits, or - to read it from stdin) instead of a new random one')
    .option('--key-file <file>', 'use the key in this file (the key alone, or a keys file) instead of a new random one');

  adminCommand<{ keysOut: string }>(
    group,
    'import <file>',
    `provision merchants and terminals from a CSV file (${TERMINALS_CSV_HEADER.join(',')}); new keys go to --keys-out only`,
    async (admin, [file = ''], options) => {
      const csvText = await readFile(file, 'utf8');
      const keysFile = KeysFile.create(options.keysOut);
      let result;
      try {
        result = await admin.importTerminals(csvText, async (created) => keysFile.write(created));
      } finally {
        keysFile.discardIfEmpty();
      }
      const { merchants, terminals } = result;
      return {
        json: { ...result, keysFile: options.keysOut },
        text: `${count(result.rows, 'row')}: ${count(merchants.created, 'merchant')} added (${merchants.existing} already there), ` +
          `${count(terminals.created, 'terminal')} added (${terminals.existing} already there, keys unchanged)
` +
          `keys of the ${count(terminals.created, 'new terminal')} in ${options.keysOut} (mode 0600): load them into the terminals, then keep the file offline`,
      };
    },
    { masterKey: true },
  ).requiredOption('--keys-out <file>', 'new file (mode 0600, never overwritten) for the new terminals\' keys: terminal_id,merchant_id,key');

  adminCommand<{ merchant?: string; offlineSince?: string; limit: string; cursor?: string; csv?: boolean }>(
    group,
    'list',
    'the fleet by terminal id: online or offline, last seen (local time), the gateway instance holding it, firmware, last sign-in, bad MACs, the health of its last heartbeat (never keys)',
    async (admin, _args, options) => {
      let offlineForMs: number | undefined;
      if (options.offlineSince !== undefined) {
        offlineForMs = parseDuration(options.offlineSince, undefined);
        if (offlineForMs === undefined) {
          throw new AdminError(AdminErrorCode.INVALID, `--offline-since takes a duration like 30m, 1h or 2d, not ${JSON.stringify(options.offlineSince)}`);
        }
      }
      const page = await admin.fleet({
        ...(options.merchant === undefined ? {} : { merchantId: options.merchant }),
        ...(offlineForMs === undefined ? {} : { offlineForMs }),
        ...(options.cursor === undefined ? {} : { cursor: options.cursor }),
        limit: Number(options.limit),
      });
      const more = page.cursor === null ? '' : `\nmore: --cursor ${page.cursor}`;
      const text = options.csv
        ? fleetCsv(page.terminals, (ms) => admin.localTime(ms)).trimEnd()
        : page.terminals.length === 0
          ? 'no terminals'
          : page.terminals.map((t) => terminalLine(admin, t)).join('\n') + more;
      return { json: page, text };
    },
    { businessDay: true },
  )
    .option('--merchant <id>', "only this merchant's terminals")
    .option('--offline-since <duration>', 'only terminals not seen for this long (30m, 1h, 2d), including those never seen')
    .option('--limit <n>', 'page size, 1 to 10000', '1000')
    .option('--cursor <cursor>', "the next page: the previous page's cursor")
    .option('--csv', 'CSV (terminal, merchant, status, online, last_seen, instance, firmware, signed_in, bad_macs, signal, ..., printer)');

  adminCommand(group, 'show <id>', 'show a terminal: merchant, status, online or not, last seen, health, key version, last sequence number', async (admin, [id = '']) => {
    const terminal = await admin.showTerminal(id);
    return { json: terminal, text: terminalLine(admin, terminal) };
  }, { businessDay: true });

  adminCommand(group, 'disable <id>', 'disable a terminal and end its session', async (admin, [id = '']) => {
    const terminal = await admin.disableTerminal(id);
    return { json: terminal, text: `terminal ${terminal.terminalId} disabled` };
  });

  adminCommand(group, 'enable <id>', 'let a disabled terminal sign in again (with its current key)', async (admin, [id = '']) => {
    const terminal = await admin.enableTerminal(id);
    return { json: terminal, text: `terminal ${terminal.terminalId} enabled` };
  });

  adminCommand<{ to?: string }>(
    group,
    'reset-seq <id>',
    "put a terminal's sequence high-water mark back (default: the highest number that started one of its " +
      'transactions, the lowest allowed) and end its session; for a terminal whose counter was pushed too far',
    async (admin, [id = ''], options) => {
      const to = options.to === undefined ? undefined : /^[0-9]{1,10}$/.test(options.to) ? Number(options.to) : Number.NaN;
      const reset = await admin.resetTerminalSeq(id, to);
      return {
        json: reset,
        text: `terminal ${reset.terminal.terminalId}: last seq ${reset.previousHwm} -> ${reset.terminal.hwm}` +
          ` (${reset.requestsCleared} request records above it cleared; its next frame must carry more than ${reset.terminal.hwm})`,
      };
    },
  ).option('--to <seq>', 'the new mark (not below the highest number that started a transaction)');

  adminCommand<{ count?: string; amount?: string; clear?: boolean }>(
    group,
    'set-limits <id>',
    "daily caps on one terminal's payments, by business day: beyond them PAY is declined TERMINAL_DAY_LIMIT",
    async (admin, [id = ''], options) => {
      const terminal = await admin.setTerminalLimits(id, limitsOf(options));
      return { json: terminal, text: `terminal ${terminal.terminalId}: limits ${limitsText(terminal.limits)}` };
    },
  )
    .option('--count <n>', 'payments a business day')
    .option('--amount <yuan>', 'yuan a business day (a payment that reaches it exactly is approved)')
    .option('--clear', 'remove both caps');

  adminCommand<{ key?: string; keyFile?: string }>(
    group,
    'rotate-key <id>',
    "give a terminal a new key; prints it once. Other terminals are not affected, and the terminal's " +
      'current session carries on until it signs in again, which it must then do with the new key',
    async (admin, [id = ''], options) => {
      const rotated = await admin.rotateTerminalKey(id, givenKey(options, id));
      return {
        json: rotated,
        text: `terminal ${rotated.terminalId}: new key (version ${rotated.keyVersion})\nkey ${rotated.key}\n(shown once; the current session continues until the terminal signs in again with this key)`,
      };
    },
    { masterKey: true },
  )
    .option('--key <hex>', 'use this key (64 hex digits, or - to read it from stdin) instead of a new random one, for a terminal that makes its own')
    .option('--key-file <file>', 'use the key in this file (the key alone, or a keys file) instead of a new random one');
}

function registerFloat(program: Command): void {
  const group = program.command('float').description("outlets' floats: top-ups by reference, the bank's statement");
  adminCommand<{ reference?: string; reason?: string }>(
    group,
    'topup <merchant> <amount>',
    "credit an outlet's float: AMOUNT in yuan, at most two decimals (e.g. 5000 or 1234.50), applied once per --reference " +
      '(again: refused ERR_DUPLICATE, nothing done). Without --reference a unique one is generated and printed: ' +
      'such a top-up is not protected against being run twice',
    async (admin, [merchantId = '', amount = ''], options) => {
      const generated = options.reference === undefined;
      const reference = options.reference ?? generatedReference(Date.now());
      const result = await admin.topUp(merchantId, parseYuan(amount), { reference, ...(options.reason === undefined ? {} : { reason: options.reason }) });
      const low = result.lowFloat === 'leave' ? '; no longer low on float' : result.lowFloat === 'enter' ? '; LOW ON FLOAT' : '';
      return {
        json: result,
        text:
          `merchant ${result.merchantId}: float topped up by ${yuan(result.amountFen)} yuan, now ${yuan(result.floatFen)} yuan${low}` +
          (generated ? ` (generated reference ${reference})` : ` (reference ${reference})`),
      };
    },
    { businessDay: true, lowFloat: true, masterKey: true, money: true },
  )
    .option('--reference <ref>', "the transfer's reference (the bank's), unique per merchant: 1 to 64 printable characters, no spaces")
    .option('--reason <text>', 'why, for the journal and statements');

  adminCommand(
    group,
    'import <file>',
    "apply the bank's statement of pre-store transfers (CSV header date,merchant,amount,reference; amount in yuan): " +
      'each transfer once by its reference, so the same file can be run again. Lists applied rows, duplicates ' +
      '(already applied), unknown merchants and rejected rows. Exit 0 when every row was applied or a duplicate, ' +
      '2 when some rows were left out (unknown merchant, bad row, a collector), 1 when the file cannot be read as a statement',
    async (admin, [file = '']) => {
      const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
        throw new Error(`cannot read ${file}: ${error.code ?? error.message}`);
      });
      const result = await admin.importBankStatement(text);
      const row = (r: { line: number; merchant: string; amountFen: number; reference: string }) =>
        `  line ${r.line}: ${r.merchant} ${yuan(r.amountFen)} yuan, reference ${r.reference}`;
      const lines = [
        `applied ${count(result.applied.length, 'transfer')} (${yuan(result.applied.reduce((sum, r) => sum + r.amountFen, 0))} yuan), ` +
          `${count(result.duplicates.length, 'duplicate')}, ${count(result.unknownMerchants.length, 'unknown merchant')}, ` +
          `${count(result.rejected.length, 'rejected row')}`,
        ...(result.duplicates.length > 0 ? ['duplicates (applied before, skipped):', ...result.duplicates.map(row)] : []),
        ...(result.unknownMerchants.length > 0 ? ['unknown merchants (not applied):', ...result.unknownMerchants.map(row)] : []),
        ...(result.rejected.length > 0 ? ['rejected (not applied):', ...result.rejected.map((r) => `  line ${r.line}: ${r.reason}`)] : []),
      ];
      const leftOut = result.unknownMerchants.length + result.rejected.length;
      return { json: result, text: lines.join('\n'), exitCode: leftOut > 0 ? 2 : 0 };
    },
    { businessDay: true, lowFloat: true, masterKey: true },
  );

  adminCommand<{ reason: string; ticket?: string }>(
    group,
    'adjust <merchant> <amount>',
    "add a signed amount to a merchant's float with a reason (journal kind adjust): AMOUNT in yuan, -12.50 takes off, 12.50 or +12.50 adds",
    async (admin, [merchantId = '', amount = ''], options) => {
      const negative = amount.startsWith('-');
      const fen = parseYuan(amount.replace(/^[-+]/, ''));
      const result = await admin.adjustFloat(merchantId, negative ? -fen : fen, { reason: options.reason, ...(options.ticket === undefined ? {} : { ticket: options.ticket }) });
      return {
        json: result,
        text: `merchant ${result.merchantId}: float adjusted by ${yuan(result.amountFen)} yuan, from ${yuan(result.floatBeforeFen)} to ${yuan(result.floatFen)} yuan`,
      };
    },
    { money: true, masterKey: true },
  )
    .requiredOption('--reason <text>', 'why (written to the journal and the audit log)')
    .option('--ticket <ref>', 'the ticket or letter it settles');
}

function registerApprovals(program: Command): void {
  const approvalLine = (a: Approval) =>
    `${a.id}  ${a.state.padEnd(8)}  ${a.action.padEnd(12)}  ${yuan(a.amountFen).padStart(14)}  by ${a.maker}${a.checker ? `, ${a.state} by ${a.checker}` : ''}  ${JSON.stringify(a.params)}`;
  adminCommand<{ all?: boolean }>(
    program.command('approvals').description('money actions waiting for a second operator'),
    'list',
    'pending approvals newest first (--all: decided ones too)',
    async (admin, _args, options) => {
      const approvals = await admin.listApprovals({ all: options.all === true });
      return { json: { approvals }, text: approvals.length === 0 ? 'no approvals' : approvals.map(approvalLine).join('\n') };
    },
  ).option('--all', 'also those approved, applied, failed or rejected');

  adminCommand(program, 'approve <id>', 'apply a pending money action another operator asked for (maker-checker), once', async (admin, [id = '']) => {
    const approval = await admin.approve(id);
    return { json: approval, text: approvalLine(approval), exitCode: approval.state === 'applied' ? 0 : 1 };
  }, { masterKey: true, businessDay: true });

  adminCommand<{ reason?: string }>(program, 'reject <id>', 'drop a pending money action', async (admin, [id = ''], options) => {
    const approval = await admin.reject(id, options.reason);
    return { json: approval, text: approvalLine(approval) };
  }).option('--reason <text>', 'why');
}

function registerStatement(program: Command): void {
  adminCommand<{ from: string; to: string; csv?: boolean }>(
    program,
    'statement <merchant>',
    "a merchant's statement between two business days: opening float or cash held, every top-up, remittance, " +
      'payment and correction with its receipt or reference, local time and yuan, the balance after each, the closing ' +
      'balance; checked against the live balance (exit 1 when the journal and the balance disagree)',
    async (admin, [merchantId = ''], options) => {
      const s = await admin.merchantStatement(merchantId, parseDate(options.from), parseDate(options.to));
      const exitCode = s.check.balanced ? 0 : 1;
      if (options.csv) return { json: s, text: statementCsv(s).trimEnd(), exitCode };
      const what = s.kind === 'collector' ? 'cash held' : 'float';
      // The lines print local time without their zone; the header names it once.
      const zone = admin.localTime(0).slice(20);
      const lines = [
        `statement of ${s.kind} ${s.merchant} ${s.name}, ${s.from} to ${s.to} (yuan, ${what}; times ${zone})`,
        `${'opening'.padEnd(44)} ${yuan(s.openingFen).padStart(16)}`,
        ...s.lines.map((l) => `${l.localTime.slice(0, 19)}  ${l.kind.padEnd(7)} ${l.receipt.padEnd(18)} ${yuan(l.effectFen).padStart(14)} ${yuan(l.balanceFen).padStart(16)}`),
        `${'closing'.padEnd(44)} ${yuan(s.closingFen).padStart(16)}`,
        s.check.balanced
          ? 'checked: the journal agrees with the balance'
          : `NOT BALANCED: the journal gives ${yuan(s.check.journalFen)} but the ${what} is ${yuan(s.check.liveFen)} (less what pending transactions reserved)`,
      ];
      return { json: s, text: lines.join('\n'), exitCode };
    },
    { businessDay: true },
  )
    .requiredOption('--from <YYYY-MM-DD>', 'first business day')
    .requiredOption('--to <YYYY-MM-DD>', 'last business day')
    .option('--csv', 'CSV: yuan and local time, fen columns kept');
}

function registerCollector(program: Command): void {
  const group = program.command('collector').description("collectors' cash in hand");
  adminCommand<{ reference: string; reason?: string }>(
    group,
    'remit <merchant> <amount>',
    'record cash a collector hands in at the office: AMOUNT in yuan lowers his cash held (never below zero: ERR_CASH), ' +
      'applied once per --reference (again: refused ERR_DUPLICATE, nothing done)',
    async (admin, [merchantId = '', amount = ''], options) => {
      const result = await admin.remit(merchantId, parseYuan(amount), {
        reference: options.reference,
        ...(options.reason === undefined ? {} : { reason: options.reason }),
      });
      return {
        json: result,
        text:
          `collector ${result.merchantId}: remitted ${yuan(result.amountFen)} yuan (reference ${result.reference}), still holds ${yuan(result.cashFen)} yuan` +
          (result.nearCashLimit === 'leave' ? '; no longer near his cash limit' : ''),
      };
    },
    { businessDay: true, masterKey: true, cashNear: true },
  )
    .requiredOption('--reference <ref>', "the office's receipt for the cash, unique per collector")
    .option('--reason <text>', 'a note for the journal and statements');
}

function registerAccounts(program: Command): void {
  const group = program.command('accounts').description('billing accounts at the embedded biller');
  adminCommand(
    group,
    'import <file>',
    'import the billing system\'s bill extract (CSV, header account,name,bill_id,period,amount,issue_date,status ' +
      '[,account_status]; one row per bill; amount in yuan; period YYYYMM; issue_date YYYY-MM-DD; status open|cancelled; ' +
      'src/admin/README.md). Idempotent by bill id; every row is checked first: one bad row (reported with its line number) ' +
      'and nothing is imported. A bill paid here whose amount the file changes, or which it cancels, is a conflict: ' +
      'every one is listed, nothing is imported, exit 1. Needs AIRCHARGE_MASTER_KEY (or --demo): the bills are sealed under it',
    async (admin, [file = '']) => {
      const r = await admin.importAccounts(await readText(file));
      return {
        json: r,
        text:
          `imported ${count(r.accounts, 'account')} (${r.newAccounts} new): ${count(r.billsAdded, 'bill')} added, ` +
          `${r.billsChanged} changed, ${r.billsUnchanged} unchanged`,
      };
    },
    { masterKey: true },
  );

  adminCommand(group, 'show <account>', 'show an account: holder, status, arrears, its bills and its postings with their receipts', async (admin, [account = '']) => {
    const a = await admin.showAccount(account);
    return { json: a, text: accountText(a, admin.localTime) };
  });
}

function accountText(a: Account, localTime: (epochMs: number) => string): string {
  const lines = [`account ${a.account}  ${a.status}  arrears ${yuan(a.arrearsFen)} yuan  ${a.name}`];
  lines.push(a.bills.length === 0 ? 'no bills' : `${'bill'.padEnd(32)} ${'period'.padEnd(7)} ${'issued'.padEnd(10)} ${'status'.padEnd(9)} ${'amount'.padStart(12)} ${'paid'.padStart(12)}`);
  for (const b of a.bills) {
    lines.push(`${b.billId.padEnd(32)} ${formatPeriod(b.period)} ${b.issueDate.padEnd(10)} ${b.status.padEnd(9)} ${yuan(b.amountFen).padStart(12)} ${yuan(b.paidFen).padStart(12)}`);
  }
  lines.push(a.postings.length === 0 ? 'no postings' : 'postings (receipt, kind, amount, booked, bills)');
  for (const p of a.postings) {
    const link = p.kind === 'reversal' ? `  reverses ${p.original}` : p.reversedBy ? `  reversed by ${p.reversedBy}` : '';
    const bills = p.bills.map((c) => `${c.billId}:${yuan(c.amountFen)}`).join(' ');
    lines.push(`${p.receipt}  ${p.kind.padEnd(8)} ${yuan(p.amountFen).padStart(12)}  ${localTime(p.at)}  ${bills}${link}`);
  }
  return lines.join('\n');
}

/** A key the operator gives: --key HEX, --key - (stdin) or --key-file FILE, so it need not sit on the command line. */
function givenKey(options: { key?: string; keyFile?: string }, terminalId: string): Buffer | undefined {
  if (options.key !== undefined && options.keyFile !== undefined) throw new AdminError(AdminErrorCode.INVALID, 'give --key or --key-file, not both');
  const source = options.keyFile ?? (options.key === '-' ? '-' : undefined);
  if (source === undefined) return options.key === undefined ? undefined : parseTerminalKey(options.key);
  try {
    return readKeySource(source, terminalId);
  } catch (error) {
    throw new AdminError(AdminErrorCode.INVALID, (error as Error).message);
  }
}

function readText(file: string): Promise<string> {
  return readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new Error(`cannot read ${file}: ${error.code ?? error.message}`);
  });
}

function choice(name: string, value: string, allowed: readonly string[]): string {
  if (!allowed.includes(value)) throw new AdminError(AdminErrorCode.INVALID, `${name} must be one of ${allowed.join(', ')}, not ${JSON.stringify(value)}`);
  return value;
}

function reportText(report: DailyReport): string {
  type Row = DailyReport['outlets'][number];
  const head = (first: string, moves: string) =>
    `${first.padEnd(24)} ${'opening'.padStart(14)} ${moves.padStart(14)} ${'payments'.padStart(8)} ${'amount'.padStart(14)} ` +
    `${'corr.'.padStart(6)} ${'amount'.padStart(12)} ${'net'.padStart(14)} ${'closing'.padStart(14)}`;
  const row = (label: string, f: Omit<Row, 'merchant' | 'name' | 'kind'>, moved: number) =>
    `${label.slice(0, 24).padEnd(24)} ${yuan(f.openingFen).padStart(14)} ${yuan(moved).padStart(14)} ${String(f.payments.count).padStart(8)} ` +
    `${yuan(f.payments.amountFen).padStart(14)} ${String(f.corrections.count).padStart(6)} ${yuan(f.corrections.amountFen).padStart(12)} ` +
    `${yuan(f.netFen).padStart(14)} ${yuan(f.closingFen).padStart(14)}`;
  const label = (m: Row) => `${m.merchant} ${m.name}`;
  const lines = [`daily report, business day ${report.date} (amounts in yuan)`, '', 'OUTLETS (float)', head('outlet', 'top-ups')];
  lines.push(...report.outlets.map((o) => row(label(o), o, o.topups.amountFen)));
  lines.push(row('subtotal outlets', report.subtotals.outlets, report.subtotals.outlets.topups.amountFen));
  if (report.collectors.length > 0) {
    lines.push('', 'COLLECTORS (cash held)', head('collector', 'remitted'));
    lines.push(...report.collectors.map((c) => row(label(c), c, c.remittances.amountFen)));
    lines.push(row('subtotal collectors', report.subtotals.collectors, report.subtotals.collectors.remittances.amountFen));
  }
  const t = report.total;
  lines.push(
    '',
    `TOTAL ${t.payments.count} payments ${yuan(t.payments.amountFen)}, ${t.corrections.count} corrections ${yuan(t.corrections.amountFen)}, net ${yuan(t.netFen)}`,
    reportSummary(report),
  );
  const { queued, failed } = report.billerQueue;
  if (queued.length + failed.length > 0) {
    const fen = (ps: QueueLine[]) => yuan(ps.reduce((sum, p) => sum + p.amountFen, 0));
    lines.push('', `BILLER: ${queued.length} postings queued (${fen(queued)}), ${failed.length} failed (${fen(failed)}): collected, not booked at the biller`);
    for (const p of queued) lines.push(`  queued  ${queueLineText(p)}`);
    for (const p of failed) lines.push(`  failed  ${queueLineText(p)}`);
  }
  return lines.join('\n');
}

function registerReport(program: Command): void {
  const group = program.command('report').description('reconciliation reports');
  adminCommand<{ date?: string; format?: string }>(
    group,
    'daily',
    "a business day's opening and closing float or cash, top-ups or remittances, payments, corrections and net, per outlet and per collector, with subtotals and the total",
    async (admin, _args, options) => {
      const day = options.date === undefined ? admin.businessDay() : parseDate(options.date);
      const format = choice('--format', options.format ?? (options.json ? 'json' : 'text'), ['text', 'json', 'csv']);
      const report = await admin.dailyReport(day);
      const text = format === 'csv' ? reportCsv(report).trimEnd() : format === 'json' ? JSON.stringify(report) : reportText(report);
      return { json: report, text };
    },
    { businessDay: true },
  )
    .option('--date <YYYY-MM-DD>', "the business day (default: today's)")
    .option('--format <format>', 'text, json or csv (default text; json with --json)');
}

function registerMasterKey(program: Command): void {
  const group = program.command('master-key').description('the master key terminal keys are sealed and the books MACed under');
  adminCommand(
    group,
    'rotate',
    'move everything onto a new master key version, online: run with the new key as AIRCHARGE_MASTER_KEY and the current one as ' +
      'AIRCHARGE_MASTER_KEY_PREVIOUS, after restarting every gateway and console with both (src/ops/README.md). Re-seals every terminal key, ' +
      're-MACs the bill seals, appends a master-key entry to every journal, then makes the new version current. Idempotent: run it again to resume. ' +
      'Exit 1 when something could not be moved (listed); the rotation is then not finished',
    async (admin) => {
      const r = await admin.rotateMasterKey();
      const lines = [
        `master key version ${r.from} → ${r.to}: ${r.finished ? 'finished, version ' + r.to + ' is current' : 'NOT finished'}`,
        `terminal keys re-sealed ${r.terminals.resealed} (already ${r.terminals.already}); bill seals ${r.accounts.resealed} (already ${r.accounts.already}); journals marked ${r.journals.marked} (already ${r.journals.already})`,
        ...r.problems,
      ];
      return { json: r, text: lines.join('\n'), exitCode: r.finished ? 0 : 1 };
    },
    { masterKey: true },
  );
}

function registerJournal(program: Command): void {
  const group = program.command('journal').description("the merchants' append-only journals");
  adminCommand<{ from?: string; to?: string; format?: string }>(
    group,
    'export',
    'every journal entry (top-ups, payments, corrections) of every merchant, by business day',
    async (admin, _args, options) => {
      const format = choice('--format', options.format ?? 'jsonl', ['jsonl', 'csv']);
      const from = options.from === undefined ? undefined : parseDate(options.from);
      const to = options.to === undefined ? undefined : parseDate(options.to);
      const entries = await admin.exportJournal(from, to);
      const text = format === 'csv' ? journalCsv(entries) : journalJsonLines(entries);
      return { json: { entries }, text: text.trimEnd() };
    },
    { businessDay: true },
  )
    .option('--from <YYYY-MM-DD>', 'first business day (default: the beginning)')
    .option('--to <YYYY-MM-DD>', 'last business day (default: the end)')
    .option('--format <format>', 'jsonl (one JSON object a line) or csv', 'jsonl');

  adminCommand<{ out?: string }>(
    group,
    'checkpoint',
    "every merchant's journal head and totals, MACed under the master key, to keep OUTSIDE Redis " +
      '(verify --checkpoint FILE then finds a rollback or a rewritten history); refuses a journal that does not verify',
    async (admin, _args, options) => {
      const checkpoint = await admin.checkpointJournal();
      const text = `${JSON.stringify(checkpoint, null, 2)}\n`;
      if (options.out === undefined) return { json: checkpoint, text: text.trimEnd() };
      await writeFile(options.out, text, { flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
        throw new Error(`cannot write ${options.out}: ${error.code ?? error.message}`);
      });
      const entries = checkpoint.merchants.reduce((n, m) => n + m.count, 0);
      return {
        json: { out: options.out, at: checkpoint.at, merchants: checkpoint.merchants.length, entries },
        text: `checkpoint of ${count(checkpoint.merchants.length, 'merchant')}, ${count(entries, 'journal entry', 'journal entries')} written to ${options.out}: keep it outside Redis`,
      };
    },
    { masterKey: true },
  ).option('--out <file>', 'write the checkpoint to this new file (default: print it)');
}

/** The gateway's --biller-queue-expiry, which verify checks the queue against. */
const QUEUE_EXPIRY = BILLER_QUEUE_SETTINGS.find((s) => s.name === 'billerQueueExpiry')!;

const ageText = (ms: number) => (ms < 120_000 ? `${Math.round(ms / 1000)} s` : ms < 7_200_000 ? `${Math.round(ms / 60_000)} min` : `${(ms / 3_600_000).toFixed(1)} h`);

/** A queued or failed posting: receipt, merchant, account, amount, age (and why it failed). */
function queueLineText(p: QueueLine): string {
  return [p.receipt, p.merchantId, p.account, yuan(p.amountFen).padStart(12), `age ${ageText(p.ageMs)}`, p.failure ?? ''].join('  ').trimEnd();
}

/** verify's words on the biller leg and the biller queue. */
function billerLegText(result: VerifyResult): string[] {
  const out: string[] = [];
  const { biller, billerQueue } = result;
  if (biller.mode === 'http') {
    out.push(
      `biller: the billing system at ${biller.url} holds the postings of ${count(biller.atBiller, 'completed transaction')}; ` +
        'that leg is reconciled against its postings file' +
        (biller.reconcileDays.length === 0 ? '' : `: aircharge reconcile biller --fetch --day ${biller.reconcileDays.join(', --day ')}`),
    );
  }
  out.push(`biller queue: ${billerQueue.queued.length} queued, ${billerQueue.failed.length} failed (expiry ${ageText(billerQueue.expiryMs)})`);
  for (const p of billerQueue.queued) out.push(`  queued  ${queueLineText(p)}`);
  for (const p of billerQueue.failed) out.push(`  failed  ${queueLineText(p)}`);
  return out;
}

function registerVerify(program: Command): void {
  adminCommand<{ pendingBound: string; allowEmpty?: boolean; checkpoint?: string; billerQueueExpiry?: string }>(
    program,
    'verify',
    'check the books: floats against the journal, transactions against the biller, no stale pending ' +
      'transactions; exits 1 listing every discrepancy, or when the Redis holds no aircharge data at all',
    async (admin, _args, options) => {
      const checkpoint = options.checkpoint === undefined ? undefined : admin.readCheckpoint(await readText(options.checkpoint));
      const result = await admin.verify(checkpoint === undefined ? {} : { checkpoint });
      const c = result.checked;
      // An empty Redis balances trivially: most often it is the wrong one (a forgotten REDIS_URL).
      if (c.merchants === 0 && c.accounts === 0 && c.journalEntries === 0 && options.allowEmpty !== true) {
        const text = 'verify: this Redis holds no aircharge data (no merchant, account or journal entry): is it the network\'s? ' +
          'Pass --allow-empty to accept an empty network';
        return { json: { ...result, ok: false, empty: true }, text, exitCode: 1 };
      }
      const summary =
        `${count(c.merchants, 'merchant')}, ${count(c.journalEntries, 'journal entry', 'journal entries')}, ` +
        `${count(c.transactions, 'transaction')} (${c.pending} pending), ${count(c.accounts, 'account')}, ${count(c.bills, 'bill')}, ${count(c.postings, 'posting')}`;
      const uncheckedLines = result.unchecked.map((u) => `  account ${u.account} not checked: ${u.why}`);
      const text = [
        result.ok
          ? `verify: OK (${summary})`
          : `verify: ${count(result.discrepancies.length, 'discrepancy', 'discrepancies')}, ${count(result.unchecked.length, 'account')} not checked (${summary})\n` +
            [...result.discrepancies.map((d) => `  ${d}`), ...uncheckedLines].join('\n'),
        ...billerLegText(result),
      ].join('\n');
      return { json: result, text, exitCode: result.ok ? 0 : 1 };
    },
    {
      masterKey: true,
      businessDay: true,
      biller: true,
      tune: (options) => {
        const seconds = Number(options.pendingBound);
        if (!Number.isSafeInteger(seconds) || seconds <= 0) {
          throw new AdminError(AdminErrorCode.INVALID, `--pending-bound must be a whole number of seconds, not ${JSON.stringify(options.pendingBound)}`);
        }
        return { pendingBoundMs: seconds * 1000, billerQueueExpiryMs: resolveBillerQueue(options, process.env).expiryMs };
      },
    },
  )
    .option(QUEUE_EXPIRY.flag, `${QUEUE_EXPIRY.description}: verify fails on a posting queued longer; env ${QUEUE_EXPIRY.env} (default: ${QUEUE_EXPIRY.default})`)
    .option('--pending-bound <seconds>', 'a transaction pending longer than this is a discrepancy', '60')
    .option('--allow-empty', 'exit 0 on a Redis with no aircharge data (a network not yet provisioned)')
    .option('--checkpoint <file>', 'a file from journal checkpoint: also find a journal rolled back or rewritten before it');
}

function txnText(t: TxnDetail, localTime: (epochMs: number) => string): string {
  const rows: Array<[string, string | number | null]> = [
    ['receipt', t.receipt],
    ['kind', t.kind + (t.origin !== 'terminal' ? ` (${t.origin})` : '')],
    ['state', t.state + (t.declinedEarly ? ' (before a transaction started)' : '')],
    ['result', t.result === null ? '-' : `${t.result.name} (0x${t.result.code.toString(16).padStart(2, '0')})`],
    ['time', t.createdLocal],
    ['completed', t.completedLocal],
    ['business day', formatDate(t.businessDay)],
    ['merchant', `${t.merchantId} ${t.merchantName}`],
    ['terminal', `${t.terminalId} seq ${t.seq}`],
    ['account', `${t.account}${t.accountName ? ` ${t.accountName}` : ''}`],
    ['amount', `${yuan(t.amountFen)} yuan (${t.amountFen} fen)`],
    ['float after', t.floatAfterFen === null ? null : `${yuan(t.floatAfterFen)} yuan`],
    ['arrears after', t.arrearsAfterFen === null ? null : `${yuan(t.arrearsAfterFen)} yuan`],
    ['original', t.original],
    ['corrected by', t.correctedBy],
    ['reversed by', t.reversedBy],
    ['posting', t.posting === null ? 'none at the embedded biller' : postingFacts(t.posting, localTime).map(([name, value]) => `${name} ${value}`).join(', ')],
    ['request', t.request === null ? 'expired (past the replay retention)' : requestInWords(t.request, t.seq)],
    ['operator', t.operator === null ? null : `${t.operator.name}: ${t.operator.reason}${t.operator.ticket ? ` (ticket ${t.operator.ticket})` : ''}`],
  ];
  return rows.filter(([, v]) => v !== null).map(([k, v]) => `${k.padEnd(14)}${v}`).join('\n');
}

function txnLine(t: Txn): string {
  return [t.createdLocal, t.receipt, t.kind.padEnd(7), t.state.padEnd(8), (t.result?.name ?? '-').padEnd(22), t.merchantId, t.account, `${yuan(t.amountFen).padStart(12)}`].join('  ');
}

function registerTxn(program: Command): void {
  const group = program.command('txn').description('transactions: show one by receipt, find by account, terminal, merchant or day');
  adminCommand(
    group,
    'show <receipt>',
    'every fact of a transaction: state, result, kind, local times, terminal and seq, merchant, account, amount, the biller posting, the correction linked',
    async (admin, [receipt = '']) => {
      const txn = await admin.showTxn(receipt);
      return { json: txn, text: txnText(txn, admin.localTime) };
    },
    { businessDay: true },
  );

  adminCommand<{ account?: string; terminal?: string; merchant?: string; day?: string; declined?: boolean; limit: string; cursor?: string; csv?: boolean }>(
    group,
    'find',
    'transactions newest first, declines included: by --account, --terminal or --merchant, and/or --day; paged with --limit and --cursor',
    async (admin, _args, options) => {
      const page = await admin.findTxns({
        ...(options.account === undefined ? {} : { account: options.account }),
        ...(options.terminal === undefined ? {} : { terminal: options.terminal }),
        ...(options.merchant === undefined ? {} : { merchant: options.merchant }),
        ...(options.day === undefined ? {} : { day: parseDate(options.day) }),
        ...(options.cursor === undefined ? {} : { cursor: options.cursor }),
        declined: options.declined === true,
        limit: Number(options.limit),
      });
      const more = page.cursor === null ? '' : `\nmore: --cursor ${page.cursor}`;
      const text = options.csv
        ? txnCsv(page.transactions).trimEnd()
        : page.transactions.length === 0
          ? 'no transactions'
          : page.transactions.map(txnLine).join('\n') + more;
      return { json: page, text };
    },
    { businessDay: true },
  )
    .option('--account <account>', 'payments and corrections for this account, at every outlet')
    .option('--terminal <id>', "this terminal's")
    .option('--merchant <id>', "this merchant's, all its terminals")
    .option('--day <YYYY-MM-DD>', 'this business day only (alone: every merchant)')
    .option('--declined', 'only declined ones')
    .option('--limit <n>', 'page size, 1 to 1000', '50')
    .option('--cursor <cursor>', "the next page: the previous page's cursor")
    .option('--csv', 'CSV (receipt, local_time, kind, state, result, merchant, terminal, seq, account, amount_fen, amount_yuan, ...)');
  registerTxnActions(group);
}

function registerTxnActions(group: Command): void {
  adminCommand<{ reason: string; ticket: string }>(
    group,
    'reverse <receipt>',
    'reverse a completed payment after its business day closed (a complaint settled): float credited, arrears restored at the biller, once; journal kind reverse',
    async (admin, [receipt = ''], options) => {
      const r = await admin.reverseTxn(receipt, { reason: options.reason, ticket: options.ticket });
      const text = r.state === 'complete'
        ? `payment ${r.receipt} reversed as ${r.reversal}: ${yuan(r.amountFen)} yuan back to merchant ${r.merchantId} (float ${yuan(r.floatFen ?? 0)} yuan), arrears restored on account ${r.account}`
        : `payment ${r.receipt}: the biller declined the reversal (${r.result.name}); nothing moved`;
      return { json: r, text, exitCode: r.state === 'complete' ? 0 : 1 };
    },
    { money: true, businessDay: true, masterKey: true, biller: true },
  )
    .requiredOption('--reason <text>', 'why (journal and audit log)')
    .requiredOption('--ticket <ref>', 'the complaint or ticket it settles');

  adminCommand<{ terminal: string; seq: string; account: string; amount: string; at: string; reason: string; ticket?: string }>(
    group,
    'reenter',
    "re-enter a payment a Redis restore lost, from the terminal's receipt: applied once, and a later retransmission of that terminal/seq is answered, never applied again",
    async (admin, _args, options) => {
      const seq = Number(options.seq);
      const at = parseSince(options.at, Date.now(), resolveBusinessDay(options, process.env).utcOffsetMinutes);
      const r = await admin.reenterTxn(
        { terminalId: options.terminal, seq, account: options.account, amountFen: parseYuan(options.amount), at },
        { reason: options.reason, ...(options.ticket === undefined ? {} : { ticket: options.ticket }) },
      );
      const text = r.state === 'complete'
        ? `payment ${r.receipt} re-entered: ${yuan(r.amountFen)} yuan at merchant ${r.merchantId}, business day ${formatDate(r.businessDay)}`
        : `payment ${r.receipt}: the biller declined it (${r.result.name}); the float is credited back`;
      return { json: r, text, exitCode: r.state === 'complete' ? 0 : 1 };
    },
    { money: true, businessDay: true, masterKey: true, biller: true },
  )
    .requiredOption('--terminal <id>', "the receipt's terminal")
    .requiredOption('--seq <n>', "the receipt's sequence number")
    .requiredOption('--account <account>', 'the account paid')
    .requiredOption('--amount <yuan>', 'the amount on the receipt')
    .requiredOption('--at <time>', 'when, from the receipt: YYYY-MM-DDTHH:MM[:SS] local time (or with Z / an offset)')
    .requiredOption('--reason <text>', 'why (journal and audit log)')
    .option('--ticket <ref>', 'the ticket it settles');
}

function queuedLine(p: QueuedPosting, admin: Admin): string {
  const tail = p.failure === null ? `tries ${p.tries}` : `${p.failure}${p.failedAt === null ? '' : ` at ${admin.localTime(p.failedAt)}`}`;
  return [admin.localTime(p.approvedAt), p.receipt, p.merchantId, p.terminalId, p.account, yuan(p.amountFen).padStart(12), tail].join('  ');
}

/** `biller queue`, `biller failed`: postings approved while the billing system was down (--biller-down accept). */
function registerQueuedPostings(group: Command): void {
  for (const which of ['queue', 'failed'] as const) {
    adminCommand(
      group,
      which,
      which === 'queue'
        ? 'postings waiting for the biller, oldest first: forwarded in order once it answers'
        : 'postings that expired, ran out of tries or were declined by the biller: money taken, not booked; settle each with the billing department',
      async (admin) => {
        const postings = await admin.queuedPostings(which);
        const none = which === 'queue' ? 'no postings queued' : 'no failed postings';
        return { json: { postings }, text: postings.length === 0 ? none : postings.map((p) => queuedLine(p, admin)).join('\n') };
      },
      { businessDay: true },
    );
  }
}

/** `biller retry RECEIPT`: a failed posting back in the queue once the billing department has fixed its side. */
function registerRetryPosting(group: Command): void {
  adminCommand<{ reason?: string }>(
    group,
    'retry <receipt>',
    'send a failed posting again (same receipt, account and amount; the biller books it once): back in its merchant\'s queue with ' +
      'its tries and expiry counted afresh, forwarded by the gateway; no money moves. Needs --operator and --reason',
    async (admin, [receipt = ''], options) => {
      if (options.reason === undefined || options.reason.trim() === '') throw new AdminError(AdminErrorCode.INVALID, 'say why it can go through now: --reason TEXT');
      const p = await admin.retryFailedPosting(receipt, { reason: options.reason });
      return { json: p, text: `posting ${p.receipt} (${p.account}, ${yuan(p.amountFen)}) queued again: the gateway forwards it` };
    },
    { businessDay: true },
  ).requiredOption('--reason <text>', 'why it can go through now (the billing department fixed it, ticket ...)');
}

function registerAudit(program: Command): void {
  const group = program.command('audit').description('the append-only audit log of admin actions');
  adminCommand<{ since?: string; action?: string; target?: string; limit: string }>(
    group,
    'list',
    'admin actions newest first: when, who, what, on what, before and after, reason and ticket',
    async (admin, _args, options) => {
      const limit = Number(options.limit);
      const entries = await admin.listAudit({
        ...(options.since === undefined ? {} : { since: parseSince(options.since, Date.now(), resolveBusinessDay(options, process.env).utcOffsetMinutes) }),
        ...(options.action === undefined ? {} : { action: options.action }),
        ...(options.operator === undefined ? {} : { operator: options.operator }),
        ...(options.target === undefined ? {} : { target: options.target }),
        limit,
      });
      const line = (e: AuditEntry) =>
        [admin.localTime(e.at), e.operator || '-', e.action, e.target, `${JSON.stringify(e.before)} -> ${JSON.stringify(e.after)}`, e.reason, e.ticket]
          .filter((part) => part !== '')
          .join('  ');
      return { json: { entries }, text: entries.length === 0 ? 'no audit entries' : entries.map(line).join('\n') };
    },
    { businessDay: true, operatorFilter: true },
  )
    .option('--since <when>', 'only entries since then: a duration back from now (30m, 1h, 7d) or YYYY-MM-DD[THH:MM] local time')
    .option('--action <action>', 'only this action, e.g. float.topup, terminal.disable')
    .option('--operator <name>', "only this operator's actions")
    .option('--target <id>', 'only actions on this merchant, terminal, receipt or approval')
    .option('--limit <n>', 'at most this many entries', '100');
}

/** The password of `operator add`: the file's content or standard input, less one trailing newline. */
async function readPassword(file: string | undefined): Promise<string> {
  let text: string;
  if (file !== undefined) text = await readFile(file, 'utf8');
  else {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    text = Buffer.concat(chunks).toString('utf8');
  }
  return text.replace(/\r?\n$/, '');
}

function registerConsoleOperator(program: Command): void {
  const group = program
    .command('operator')
    .description('web console logins (aircharge console): add, list, remove; roles: viewer reads, operator also tops up, supervisor also approves');
  adminCommand<{ role: string; passwordFile?: string; replace?: boolean }>(
    group,
    'add <name>',
    'add a console login; its password (at least 12 characters) comes from --password-file or standard input and is stored only as a scrypt hash',
    async (admin, [name = ''], { role, passwordFile, replace }) => {
      const password = await readPassword(passwordFile);
      const added = await admin.addConsoleOperator(name, role, password, { replace: replace === true });
      return { json: added, text: `operator ${added.name} (${added.role}) can log in to the console` };
    },
  )
    .requiredOption('--role <role>', 'viewer | operator | supervisor')
    .option('--password-file <file>', 'read the password from this file instead of standard input')
    .option('--replace', "an existing login's role and password are replaced instead of refused");

  adminCommand(group, 'list', 'console logins and their roles (never passwords)', async (admin) => {
    const operators = await admin.listConsoleOperators();
    const lines = operators.map((o) => `${o.name}  ${o.role}  since ${admin.localTime(o.createdAt)}`);
    return { json: { operators }, text: lines.length === 0 ? 'no console operators' : lines.join('\n') };
  });

  adminCommand(group, 'remove <name>', 'remove a console login; its open sessions end at their next request', async (admin, [name = '']) => {
    const removed = await admin.removeConsoleOperator(name);
    return { json: removed, text: `operator ${removed.name} removed` };
  });
}

/** `--day YYYYMMDD`, a real date. */
function parseDay(text: string | undefined): number {
  const match = /^(\d{4})(\d{2})(\d{2})$/.exec(text ?? '');
  if (match === null) throw new AdminError(AdminErrorCode.INVALID, `--day must be a business day YYYYMMDD, not ${JSON.stringify(text ?? '')}`);
  return parseDate(`${match[1]}-${match[2]}-${match[3]}`);
}

function registerBiller(program: Command): void {
  const group = program
    .command('biller')
    .description("the biller's postings: the embedded biller's day file; postings queued while the billing system was down, or failed");
  registerQueuedPostings(group);
  registerRetryPosting(group);
  adminCommand<{ day?: string }>(
    group,
    'postings',
    "the embedded biller's postings of a business day as its daily postings file (CSV: " +
      'day,receipt,account,kind,amount,original,booked_at; src/biller/README.md), the biller leg of reconcile biller',
    async (admin, _args, options) => {
      const day = parseDay(options.day);
      const postings = await admin.billerPostings(day);
      return { json: { day, postings }, text: formatPostingsFile(postings, resolveBusinessDay(options, process.env).utcOffsetMinutes).trimEnd() };
    },
    { businessDay: true },
  ).requiredOption('--day <YYYYMMDD>', 'the business day');
}

function registerReconcile(program: Command): void {
  const group = program.command('reconcile').description('reconciliation against the other legs');
  adminCommand<{ day?: string; file?: string; fetch?: boolean; format?: string }>(
    group,
    'biller',
    "our journal of a business day against the biller's postings of it, receipt by receipt: matched, missing at the " +
      'biller, missing here, amount or account differs, reversed on one side only. The biller\'s side from a postings ' +
      'file (--file) or fetched (--fetch) from the billing system (--biller URL: GET /v1/postings?day=) or else the embedded biller. Exits 1 on any break',
    async (admin, _args, options) => {
      const day = parseDay(options.day);
      if ((options.file === undefined) === (options.fetch !== true)) {
        throw new AdminError(AdminErrorCode.INVALID, 'give exactly one of --file FILE and --fetch');
      }
      let postings: DayPosting[] | undefined;
      if (options.file !== undefined) {
        const file = options.file;
        const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
          throw new Error(`cannot read ${file}: ${error.code ?? error.message}`);
        });
        const parsed = parsePostingsFile(text);
        const otherDay = parsed.postings.filter((p) => p.day !== day).map((p) => `${p.receipt}: day ${p.day}`);
        const errors = [...parsed.errors, ...(otherDay.length > 0 ? [`rows of another day than ${day}: ${otherDay.slice(0, 5).join(', ')}${otherDay.length > 5 ? ', ...' : ''}`] : [])];
        if (errors.length > 0) throw new AdminError(AdminErrorCode.CSV, `the postings file ${file} does not read, nothing reconciled:\n${errors.join('\n')}`, errors);
        postings = parsed.postings;
      }
      const result = await admin.reconcileBiller(day, postings);
      const format = choice('--format', options.format ?? (options.json ? 'json' : 'text'), ['text', 'json', 'csv']);
      const text = format === 'csv' ? reconcileCsv(result).trimEnd() : format === 'json' ? JSON.stringify(result) : reconcileText(result);
      return { json: result, text, exitCode: result.ok ? 0 : 1 };
    },
    { businessDay: true, biller: true },
  )
    .requiredOption('--day <YYYYMMDD>', 'the business day')
    .option('--file <postings.csv>', "the biller's postings file of that day")
    .option('--fetch', 'take the postings from the billing system at --biller, else from the embedded biller')
    .option('--format <format>', 'text, json or csv (default text; json with --json)');
}

export function registerAdmin(program: Command): void {
  registerMerchant(program);
  registerTerminal(program);
  registerFloat(program);
  registerCollector(program);
  registerStatement(program);
  registerAccounts(program);
  registerReport(program);
  registerJournal(program);
  registerMasterKey(program);
  registerVerify(program);
  registerBiller(program);
  registerReconcile(program);
  registerAudit(program);
  registerTxn(program);
  registerConsoleOperator(program);
  registerApprovals(program);
}

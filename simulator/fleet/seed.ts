/**
 * A network to drive: outlets (merchants) each with a terminal and a float, collectors (an
 * electrician with a mobile terminal and a cash-in-hand limit, no float), and billing accounts
 * with their bills (the billing system's extract, src/admin/README.md), created through the operator API as an operator would. Ids carry
 * a tag so runs on one Redis do not collide; the terminals' keys are kept for the simulator.
 */
import { formatYuan, type Admin } from '../../src/admin/index.js';
import type { MerchantKindName } from '../../src/admin/merchants.js';
import { deriveRandom } from '../link/prng.js';

export interface ProvisionedTerminal {
  terminalId: string;
  merchantId: string;
  key: Buffer;
  /** Default outlet. */
  kind?: MerchantKindName;
}

export interface SeededNetwork {
  terminals: ProvisionedTerminal[];
  accounts: string[];
  /** The bill extract imported: what a billing system of its own (the reference biller) takes too. */
  extract?: string;
}

export interface SeedOptions {
  /** 1–4 characters [0-9A-Z]: makes this network's ids its own. */
  tag: string;
  outlets: number;
  accounts: number;
  floatFen: number;
  seed: number;
  /** Terminals per outlet; default 1 (a village shop has one). */
  terminalsPerOutlet?: number;
  /** Outlet names; default "Outlet N". */
  outletName?: (index: number) => string;
  /** Collectors, each with one terminal, after the outlets' terminals; default none. */
  collectors?: number;
  /** Each collector's cash-in-hand limit; default ¥5,000. */
  cashLimitFen?: number;
  /** Collector names; default "Collector N". */
  collectorName?: (index: number) => string;
}

export const DEFAULT_CASH_LIMIT_FEN = 500_000;

/** A collector's merchant id: C, the tag, his number. */
export function collectorIdOf(tag: string, index: number): string {
  return `C${tag}${String(index + 1).padStart(4, '0')}`;
}

const SURNAMES = ['Wang', 'Li', 'Zhang', 'Liu', 'Chen', 'Yang', 'Huang', 'Zhao', 'Wu', 'Zhou', 'Xu', 'Sun', 'Ma', 'Zhu', 'Hu', 'Guo'];
const GIVEN = ['Wei', 'Fang', 'Min', 'Jing', 'Lei', 'Yan', 'Jun', 'Ping', 'Gang', 'Hua', 'Xiu Ying', 'Gui Lan'];

const SEED_BATCH = 50;

export function terminalIdOf(tag: string, index: number): string {
  return `${tag}${String(index + 1).padStart(8 - tag.length, '0')}`;
}

/** Account numbers: the tag's digits first, so each network's accounts are its own. */
export function accountOf(tag: string, index: number): string {
  const prefix = [...tag].map((c) => (parseInt(c, 36) % 10).toString()).join('');
  return `${prefix}${String(index + 1).padStart(10 - prefix.length, '0')}`;
}

export async function seedNetwork(admin: Admin, options: SeedOptions): Promise<SeededNetwork> {
  if (!/^[0-9A-Z]{1,4}$/.test(options.tag)) throw new Error('tag must be 1 to 4 characters [0-9A-Z]');
  const random = deriveRandom(options.seed, `seed:${options.tag}`);
  const perOutlet = options.terminalsPerOutlet ?? 1;
  const terminals: ProvisionedTerminal[] = [];
  const outlet = async (i: number): Promise<ProvisionedTerminal[]> => {
    const merchantId = `M${options.tag}${String(i + 1).padStart(4, '0')}`;
    await admin.addMerchant(merchantId, options.outletName?.(i) ?? `Outlet ${i + 1}`);
    await admin.topUp(merchantId, options.floatFen);
    const provisioned: ProvisionedTerminal[] = [];
    for (let t = 0; t < perOutlet; t++) {
      const terminalId = terminalIdOf(options.tag, i * perOutlet + t);
      const { key } = await admin.addTerminal(terminalId, merchantId);
      provisioned.push({ terminalId, merchantId, key: Buffer.from(key, 'hex') });
    }
    return provisioned;
  };
  // Outlets in parallel batches: a scale test provisions thousands of terminals.
  for (let first = 0; first < options.outlets; first += SEED_BATCH) {
    const batch = Array.from({ length: Math.min(SEED_BATCH, options.outlets - first) }, (_, k) => outlet(first + k));
    for (const provisioned of await Promise.all(batch)) terminals.push(...provisioned);
  }

  const lines = ['account,name,bill_id,period,amount,issue_date,status'];
  const accounts: string[] = [];
  for (let i = 0; i < options.accounts; i++) {
    const account = accountOf(options.tag, i);
    const name = `${SURNAMES[random.int(0, SURNAMES.length - 1)]} ${GIVEN[random.int(0, GIVEN.length - 1)]}`;
    // One to three monthly bills of ¥80–¥400 each: what a household owes.
    // Bill ids as a billing system numbers them: unique, here the account and the period.
    const bills = random.int(1, 3);
    for (let b = 0; b < bills; b++) {
      const period = 202608 + b;
      const fen = random.int(80, 400) * 100 + random.int(0, 99);
      lines.push(`${account},${name},${account}-${period},${period},${formatYuan(fen)},${String(period).slice(0, 4)}-${String(period).slice(4)}-05,open`);
    }
    accounts.push(account);
  }
  for (let i = 0; i < (options.collectors ?? 0); i++) {
    const merchantId = collectorIdOf(options.tag, i);
    await admin.addMerchant(merchantId, options.collectorName?.(i) ?? `Collector ${i + 1}`, {
      kind: 'collector',
      cashLimitFen: options.cashLimitFen ?? DEFAULT_CASH_LIMIT_FEN,
    });
    const terminalId = terminalIdOf(options.tag, options.outlets * perOutlet + i);
    const { key } = await admin.addTerminal(terminalId, merchantId);
    terminals.push({ terminalId, merchantId, key: Buffer.from(key, 'hex'), kind: 'collector' });
  }

  const extract = `${lines.join('\n')}\n`;
  await admin.importAccounts(extract);
  return { terminals, accounts, extract };
}

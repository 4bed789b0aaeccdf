/**
 * The operator's money actions, audited: float adjust, txn reverse, txn reenter, and maker-checker
 * above the approval limit. Real redis-server; the re-entry test has a real gateway on a socket and
 * a terminal retransmitting the re-entered PAY.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageType, ResultCode } from '../../protocol/constants.js';
import { formatReceipt } from '../../protocol/index.js';
import { createAdmin, type Admin } from '../../src/admin/index.js';
import { STALE_CLAIM_MS } from '../../src/admin/approvals.js';
import { RedisBiller } from '../../src/biller/redis-biller.js';
import { keys } from '../../src/store/keys.js';
import { ACCOUNTS, ARREARS_FEN, FLOAT_FEN, MASTER_KEY, MERCHANT, startGateway, startNetwork, type Network, type RunningGateway } from '../gateway/fixture.js';

let network: Network;
let gateway: RunningGateway;
let alice: Admin;
let bob: Admin;
const DAY_MS = 86_400_000;

const floatFen = async () => Number(await network.client.hget(keys.merchant(MERCHANT), 'floatFen'));
const arrears = async (account: string) => (await new RedisBiller(network.client).lookup(account))?.arrearsFen;
const journal = async () =>
  (await alice.exportJournal()).filter((e) => e.merchant === MERCHANT).map((e) => ({ kind: e.kind, txn: e.txn, amountFen: e.amountFen, origin: e.origin, reason: e.reason, operator: e.operator }));

beforeAll(async () => {
  network = await startNetwork();
  gateway = await startGateway(network, { instanceId: 'gw-op' });
  alice = createAdmin({ redis: network.client, operator: 'alice', masterKey: MASTER_KEY });
  bob = alice.as('bob');
});
afterAll(async () => {
  await gateway?.stop();
  await network?.stop();
});

describe('float adjust', () => {
  it('adds and takes off a signed amount with a reason: journal kind adjust, audit, verify balances', async () => {
    const before = await floatFen();
    const up = await alice.adjustFloat(MERCHANT, 1_234, { reason: 'bank credit missed on 2 Dec', ticket: 'T-1' });
    expect(up).toMatchObject({ amountFen: 1_234, floatBeforeFen: before, floatFen: before + 1_234 });
    const down = await alice.adjustFloat(MERCHANT, -234, { reason: 'fee' });
    expect(down.floatFen).toBe(before + 1_000);
    expect((await journal()).filter((e) => e.kind === 'adjust')).toEqual([
      expect.objectContaining({ amountFen: 1_234, operator: 'alice', reason: 'bank credit missed on 2 Dec' }),
      expect.objectContaining({ amountFen: -234, operator: 'alice', reason: 'fee' }),
    ]);
    const [entry] = await alice.listAudit({ action: 'float.adjust', limit: 1 });
    expect(entry).toMatchObject({ operator: 'alice', target: MERCHANT, before: { floatFen: before + 1_234 }, after: { floatFen: before + 1_000 }, reason: 'fee' });
    expect((await alice.verify()).discrepancies).toEqual([]);
  });

  it('refuses below zero, a zero amount, no reason and no operator, leaving the float alone', async () => {
    const before = await floatFen();
    await expect(alice.adjustFloat(MERCHANT, -(before + 1), { reason: 'too much' })).rejects.toMatchObject({ code: 'ERR_AMOUNT' });
    await expect(alice.adjustFloat(MERCHANT, 0, { reason: 'x' })).rejects.toMatchObject({ code: 'ERR_AMOUNT' });
    await expect(alice.adjustFloat(MERCHANT, 5, { reason: ' ' })).rejects.toMatchObject({ code: 'ERR_INVALID' });
    await expect(createAdmin({ redis: network.client }).adjustFloat(MERCHANT, 5, { reason: 'x' })).rejects.toMatchObject({ code: 'ERR_OPERATOR' });
    await expect(alice.adjustFloat('nobody', 5, { reason: 'x' })).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
    expect(await floatFen()).toBe(before);
  });
});

describe('txn reverse', () => {
  it("reverses yesterday's payment once: float credited, arrears restored at the biller, journal kind reverse, verify balances", async () => {
    const terminal = await network.addTerminal();
    const t = await gateway.connect(terminal);
    await t.signIn();
    const paid = await t.request(MessageType.PAY, { account: ACCOUNTS[0]!, amountFen: 5_000 });
    expect(paid.response.result).toBe(ResultCode.APPROVED);
    const receipt = paid.response.receipt;
    const today = createAdmin({ redis: network.client, operator: 'alice', masterKey: MASTER_KEY });
    // The same day: the terminal corrects, the operator does not reverse.
    await expect(today.reverseTxn(receipt, { reason: 'complaint', ticket: 'C-7' })).rejects.toMatchObject({ code: 'ERR_REFUSED', message: expect.stringContaining('has not closed') });

    const tomorrow = createAdmin({ redis: network.client, operator: 'alice', masterKey: MASTER_KEY, now: () => Date.now() + DAY_MS });
    const floatBefore = await floatFen();
    const arrearsBefore = await arrears(ACCOUNTS[0]!);
    await expect(tomorrow.reverseTxn(receipt, { reason: 'complaint' })).rejects.toMatchObject({ code: 'ERR_INVALID', message: expect.stringContaining('--ticket') });
    const reversed = await tomorrow.reverseTxn(receipt, { reason: 'paid twice at two shops', ticket: 'C-7' });
    expect(reversed).toMatchObject({ state: 'complete', reversal: `${receipt}-R`, amountFen: 5_000, floatFen: floatBefore + 5_000 });
    expect(await floatFen()).toBe(floatBefore + 5_000);
    expect(await arrears(ACCOUNTS[0]!)).toBe(arrearsBefore! + 5_000);
    expect((await journal()).filter((e) => e.kind === 'reverse')).toEqual([expect.objectContaining({ txn: `${receipt}-R`, amountFen: 5_000, operator: 'alice', reason: 'paid twice at two shops' })]);
    expect(await tomorrow.showTxn(receipt)).toMatchObject({ reversedBy: `${receipt}-R` });
    expect(await tomorrow.showTxn(`${receipt}-R`)).toMatchObject({ kind: 'reverse', state: 'complete', original: receipt, operator: { name: 'alice', ticket: 'C-7' } });

    // Once: a second reversal, by anyone, moves nothing.
    await expect(tomorrow.as('bob').reverseTxn(receipt, { reason: 'again', ticket: 'C-8' })).rejects.toMatchObject({ code: 'ERR_REFUSED', message: expect.stringContaining('already reversed') });
    expect(await floatFen()).toBe(floatBefore + 5_000);
    // The terminal can no longer correct it either (it is not the same day, and it is reversed).
    expect((await tomorrow.verify()).discrepancies).toEqual([]);
    await expect(tomorrow.reverseTxn('T99999990000000001', { reason: 'x', ticket: 'y' })).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
  });
});

describe('txn reenter', () => {
  it('applies a lost payment once; the terminal retransmitting that PAY over a real gateway is answered, not applied again', async () => {
    const terminal = await network.addTerminal();
    const t = await gateway.connect(terminal);
    await t.signIn();
    // The terminal paid with seq N, got its receipt, and then Redis was restored to before it:
    // the store never heard of N. The operator re-enters it from the receipt.
    const lostSeq = t.seq + 1;
    const amountFen = 2_500;
    const floatBefore = await floatFen();
    const arrearsBefore = await arrears(ACCOUNTS[1]!);
    const entered = await alice.reenterTxn(
      { terminalId: terminal.terminalId, seq: lostSeq, account: ACCOUNTS[1]!, amountFen, at: Date.now() - 60_000 },
      { reason: 'lost in the restore of 3 Dec', ticket: 'INC-12' },
    );
    const receipt = formatReceipt(terminal.terminalId, lostSeq);
    expect(entered).toMatchObject({ receipt, state: 'complete', result: { name: 'APPROVED' } });
    expect(await floatFen()).toBe(floatBefore - amountFen);
    expect(await arrears(ACCOUNTS[1]!)).toBe(arrearsBefore! - amountFen);
    expect((await journal()).filter((e) => e.txn === receipt)).toEqual([expect.objectContaining({ kind: 'pay', origin: 'reentry', amountFen })]);

    // The terminal never saw its answer after the restore: it retransmits that PAY, same seq.
    const again = await t.request(MessageType.PAY, { account: ACCOUNTS[1]!, amountFen }, { seq: lostSeq, retransmit: true });
    expect(again.response).toMatchObject({ result: ResultCode.APPROVED, receipt });
    // A different request under that seq is a replay; nothing is applied either way.
    const other = await t.request(MessageType.PAY, { account: ACCOUNTS[1]!, amountFen: 100 }, { seq: lostSeq, retransmit: true });
    expect(other.response.result).toBe(ResultCode.REPLAY);
    expect(await floatFen()).toBe(floatBefore - amountFen);
    expect(await arrears(ACCOUNTS[1]!)).toBe(arrearsBefore! - amountFen);

    // And the operator cannot enter it twice.
    await expect(
      alice.reenterTxn({ terminalId: terminal.terminalId, seq: lostSeq, account: ACCOUNTS[1]!, amountFen, at: Date.now() - 60_000 }, { reason: 'again' }),
    ).rejects.toMatchObject({ code: 'ERR_REFUSED', message: expect.stringContaining('in the books already') });
    // The terminal carries on above the re-entered number.
    const next = await t.request(MessageType.PAY, { account: ACCOUNTS[1]!, amountFen: 100 });
    expect(next.response.result).toBe(ResultCode.APPROVED);
    expect((await alice.verify()).discrepancies).toEqual([]);
  });

  it('refuses a request the store still holds, a future time and an unknown terminal', async () => {
    const terminal = await network.addTerminal();
    const t = await gateway.connect(terminal);
    await t.signIn();
    const paid = await t.request(MessageType.PAY, { account: ACCOUNTS[2]!, amountFen: 100 });
    const input = { terminalId: terminal.terminalId, seq: paid.frame.seq, account: ACCOUNTS[2]!, amountFen: 100, at: Date.now() - 1000 };
    await expect(alice.reenterTxn(input, { reason: 'x' })).rejects.toMatchObject({ code: 'ERR_REFUSED' });
    await expect(alice.reenterTxn({ ...input, seq: paid.frame.seq + 5, at: Date.now() + 3_600_000 }, { reason: 'x' })).rejects.toMatchObject({ code: 'ERR_INVALID' });
    await expect(alice.reenterTxn({ ...input, terminalId: 'NOPE0000' }, { reason: 'x' })).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
  });
});

describe('maker-checker', () => {
  it('above the limit: stored, the maker cannot approve, a second operator applies it once, the audit shows both', async () => {
    const limited = createAdmin({ redis: network.client, operator: 'alice', masterKey: MASTER_KEY, approvalLimitFen: 10_000 });
    const before = await floatFen();
    // At the limit: applied at once.
    await limited.adjustFloat(MERCHANT, 10_000, { reason: 'at the limit' });
    expect(await floatFen()).toBe(before + 10_000);

    const pending = await limited.adjustFloat(MERCHANT, -10_001, { reason: 'refund to the bank', ticket: 'R-1' }).catch((e: { code: string; details: string[] }) => e);
    expect(pending).toMatchObject({ code: 'ERR_PENDING_APPROVAL' });
    const id = (pending as { details: string[] }).details[0]!;
    expect(await floatFen()).toBe(before + 10_000);
    expect((await limited.listApprovals()).map((a) => [a.id, a.state, a.maker, a.amountFen])).toEqual([[id, 'pending', 'alice', -10_001]]);

    await expect(limited.approve(id)).rejects.toMatchObject({ code: 'ERR_SAME_OPERATOR' });
    expect(await floatFen()).toBe(before + 10_000);
    // Two checkers at once: applied once.
    const carol = limited.as('carol');
    const results = await Promise.allSettled([limited.as('bob').approve(id), carol.approve(id)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.code)).toEqual(['ERR_REFUSED']);
    expect(await floatFen()).toBe(before + 10_000 - 10_001);
    const approved = await limited.showApproval(id);
    expect(approved).toMatchObject({ state: 'applied', maker: 'alice' });
    expect(['bob', 'carol']).toContain(approved.checker);
    await expect(carol.approve(id)).rejects.toMatchObject({ code: 'ERR_REFUSED' });
    expect(await floatFen()).toBe(before + 10_000 - 10_001);
    expect(await limited.listApprovals()).toEqual([]);

    const trail = await limited.listAudit({ target: id });
    expect(trail.map((e) => [e.action, e.operator])).toEqual([
      ['approval.approve', approved.checker],
      ['approval.request', 'alice'],
    ]);
    const [applied] = await limited.listAudit({ action: 'float.adjust', limit: 1 });
    expect(applied).toMatchObject({ operator: approved.checker, reason: 'refund to the bank', after: { amountFen: -10_001 } });
    expect((await journal()).at(-1)).toMatchObject({ kind: 'adjust', amountFen: -10_001, operator: approved.checker });
  });

  it('an approval whose approver died after claiming it is taken up again after STALE_CLAIM_MS, and applied once whether or not it had taken effect', async () => {
    const limited = createAdmin({ redis: network.client, operator: 'alice', masterKey: MASTER_KEY, approvalLimitFen: 10_000 });
    const later = (operator: string) => createAdmin({ redis: network.client, operator, masterKey: MASTER_KEY, now: () => Date.now() + STALE_CLAIM_MS + 1_000 });
    // What a dying approver leaves: the claim (pending -> approved, as DECIDE writes it), never the outcome.
    const claimedBy = async (id: string, checker: string) =>
      network.client.hset(keys.approval(id), 'state', 'approved', 'checker', checker, 'decidedAt', Date.now());
    const held = async (amountFen: number) => {
      const pending = await limited.adjustFloat(MERCHANT, amountFen, { reason: 'bank fee refund' }).catch((e: { code: string; details: string[] }) => e);
      expect(pending).toMatchObject({ code: 'ERR_PENDING_APPROVAL' });
      return (pending as { details: string[] }).details[0]!;
    };

    // Died before applying: nothing moved; a checker right away is refused (it may still be applying), later it applies once.
    const before = await floatFen();
    const first = await held(-20_000);
    await claimedBy(first, 'bob');
    expect((await limited.listApprovals()).map((a) => [a.id, a.state])).toContainEqual([first, 'approved']);
    await expect(limited.as('carol').approve(first)).rejects.toMatchObject({ code: 'ERR_REFUSED' });
    expect(await floatFen()).toBe(before);
    await expect(later('alice').approve(first)).rejects.toMatchObject({ code: 'ERR_SAME_OPERATOR' });
    expect(await later('carol').approve(first)).toMatchObject({ state: 'applied', checker: 'carol' });
    expect(await floatFen()).toBe(before - 20_000);
    await expect(later('dave').approve(first)).rejects.toMatchObject({ code: 'ERR_REFUSED' });
    expect(await floatFen()).toBe(before - 20_000);

    // Died after applying, before recording it: taken up again, it is not applied a second time.
    const second = await held(-30_000);
    await claimedBy(second, 'bob');
    const dying = createAdmin({ redis: network.client, operator: 'bob', masterKey: MASTER_KEY });
    await dying.adjustFloat(MERCHANT, -30_000, { reason: 'bank fee refund', ref: second });
    expect(await floatFen()).toBe(before - 50_000);
    // The adjustment itself is once per reference.
    await expect(dying.adjustFloat(MERCHANT, -30_000, { reason: 'bank fee refund', ref: second })).rejects.toMatchObject({ code: 'ERR_DUPLICATE' });
    const resumed = await later('carol').approve(second);
    expect(resumed).toMatchObject({ state: 'applied', outcome: { resumed: 'applied before', reference: second } });
    expect(await floatFen()).toBe(before - 50_000);
    expect((await alice.exportJournal()).filter((e) => e.merchant === MERCHANT && e.kind === 'adjust' && e.ref === second)).toHaveLength(1);
    const [audit] = await limited.listAudit({ target: second, action: 'approval.approve' });
    expect(audit).toMatchObject({ operator: 'carol', after: { state: 'applied', resumed: true } });
    expect((await limited.listApprovals()).map((a) => a.id)).not.toContain(second);
  });

  it('a rejected action is never applied, and top-ups are held too', async () => {
    const limited = createAdmin({ redis: network.client, operator: 'alice', masterKey: MASTER_KEY, approvalLimitFen: 10_000 });
    const before = await floatFen();
    const pending = await limited.topUp(MERCHANT, 50_000).catch((e: { details: string[] }) => e);
    const id = (pending as { details: string[] }).details[0]!;
    expect(await limited.as('bob').reject(id, 'no bank slip')).toMatchObject({ state: 'rejected', checker: 'bob' });
    await expect(limited.as('carol').approve(id)).rejects.toMatchObject({ code: 'ERR_REFUSED' });
    expect(await floatFen()).toBe(before);
    expect(FLOAT_FEN).toBeGreaterThan(0);
    expect(ARREARS_FEN).toBeGreaterThan(0);
  });
});

/**
 * Every message type reaches its handler and the core through the gateway: inquiry, pay, status
 * (the stored response byte for byte), correct, settle, sign-out. Real Redis, real sockets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageType, ResultCode, TransactionState, formatReceipt } from '../../protocol/index.js';
import { ACCOUNTS, ARREARS_FEN, arrearsFen, floatFen, startGateway, startNetwork, type Network, type RunningGateway } from './fixture.js';

let network: Network;
let gw: RunningGateway;

beforeAll(async () => {
  network = await startNetwork();
  gw = await startGateway(network);
});
afterAll(async () => {
  await gw?.stop();
  await network?.stop();
});

describe('routing', () => {
  it('inquiry, pay, status, correct, settle and sign-out, each answered by its handler', async () => {
    const terminal = await network.addTerminal();
    const t = await gw.connect(terminal);
    const signedIn = await t.signIn();
    const account = ACCOUNTS[2]!;

    const inquiry = await t.request(MessageType.INQUIRY, { account });
    expect(inquiry.response).toMatchObject({ result: ResultCode.APPROVED, arrearsFen: ARREARS_FEN, holderName: 'Z************g' });
    expect(t.macValid(inquiry.frame)).toBe(true);

    const floatBefore = await floatFen(network);
    const pay = await t.request(MessageType.PAY, { account, amountFen: 5_000 });
    expect(pay.response).toMatchObject({ result: ResultCode.APPROVED, arrearsFen: ARREARS_FEN - 5_000, floatFen: floatBefore - 5_000 });

    const status = await t.request(MessageType.STATUS, { querySeq: pay.frame.seq });
    expect(status.response.result).toBe(ResultCode.APPROVED);
    expect(status.response.state).toBe(TransactionState.ANSWERED);
    expect(status.response.originalType).toBe(MessageType.PAY_RESPONSE);
    expect(status.response.originalPayload.equals(pay.frame.payload)).toBe(true);
    const unknown = await t.request(MessageType.STATUS, { querySeq: 999_999 });
    expect(unknown.response.state).toBe(TransactionState.NOT_FOUND);

    const correct = await t.request(MessageType.CORRECT, { receipt: pay.response.receipt, account, amountFen: 5_000 });
    expect(correct.response.result).toBe(ResultCode.APPROVED);
    expect(correct.response.receipt).toBe(formatReceipt(terminal.terminalId, correct.frame.seq));
    expect(await floatFen(network)).toBe(floatBefore);
    expect(await arrearsFen(network, account)).toBe(ARREARS_FEN);

    const day = signedIn.response.businessDay;
    const settle = await t.request(MessageType.SETTLE, { businessDay: day, payCount: 1, payFen: 5_000, correctCount: 1, correctFen: 5_000 });
    expect(settle.response).toEqual({ result: ResultCode.APPROVED, businessDay: day, payCount: 1, payFen: 5_000, correctCount: 1, correctFen: 5_000 });
    const unbalanced = await t.request(MessageType.SETTLE, { businessDay: day, payCount: 2, payFen: 5_000, correctCount: 1, correctFen: 5_000 });
    expect(unbalanced.response.result).toBe(ResultCode.NOT_BALANCED);
    expect(unbalanced.response.payCount).toBe(1);

    const signOut = await t.request(MessageType.SIGN_OUT, {});
    expect(signOut.response.result).toBe(ResultCode.APPROVED);
    await t.closed;
  });
});

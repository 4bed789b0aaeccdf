import { MessageType, decodePayload, encodePayload } from '../../../protocol/index.js';
import type { Handler } from './handler.js';

export const pay: Handler = {
  responseType: MessageType.PAY_RESPONSE,
  async run(core, ctx, payload) {
    const request = decodePayload(MessageType.PAY, payload);
    const { response, replayed } = await core.pay(ctx, request);
    return { result: response.result, payload: encodePayload(MessageType.PAY_RESPONSE, response), replayed, amountFen: request.amountFen };
  },
};

import { MessageType, decodePayload, encodePayload } from '../../../protocol/index.js';
import type { Handler } from './handler.js';

export const correct: Handler = {
  responseType: MessageType.CORRECT_RESPONSE,
  async run(core, ctx, payload) {
    const request = decodePayload(MessageType.CORRECT, payload);
    const { response, replayed } = await core.correct(ctx, request);
    return { result: response.result, payload: encodePayload(MessageType.CORRECT_RESPONSE, response), replayed, amountFen: request.amountFen };
  },
};

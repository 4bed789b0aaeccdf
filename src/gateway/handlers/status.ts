import { MessageType, decodePayload, encodePayload, responseTypeOf } from '../../../protocol/index.js';
import type { StatusResponse } from '../../../protocol/index.js';
import type { Handler } from './handler.js';

/**
 * STATUS tells a terminal that lost a response what became of its PAY or CORRECT: the core finds
 * the stored response value, and it goes back encoded byte for byte as it was sent.
 */
export const status: Handler = {
  responseType: MessageType.STATUS_RESPONSE,
  async run(core, ctx, payload) {
    const { response, replayed } = await core.status(ctx, decodePayload(MessageType.STATUS, payload));
    const original = response.original;
    const value: StatusResponse = {
      result: response.result,
      state: response.state,
      originalType: original === null ? 0 : responseTypeOf(original.type),
      originalPayload:
        original === null
          ? Buffer.alloc(0)
          : original.type === MessageType.CORRECT
            ? encodePayload(MessageType.CORRECT_RESPONSE, original.response)
            : encodePayload(MessageType.PAY_RESPONSE, original.response),
    };
    return { result: value.result, payload: encodePayload(MessageType.STATUS_RESPONSE, value), replayed };
  },
};

import { MessageType, decodePayload, encodePayload } from '../../../protocol/index.js';
import type { Handler } from './handler.js';

export const settle: Handler = {
  responseType: MessageType.SETTLE_RESPONSE,
  async run(core, ctx, payload) {
    const { response, replayed } = await core.settle(ctx, decodePayload(MessageType.SETTLE, payload));
    return { result: response.result, payload: encodePayload(MessageType.SETTLE_RESPONSE, response), replayed };
  },
};

import { MessageType, decodePayload, encodePayload } from '../../../protocol/index.js';
import type { Handler } from './handler.js';

export const inquiry: Handler = {
  responseType: MessageType.INQUIRY_RESPONSE,
  async run(core, ctx, payload) {
    const { response, replayed } = await core.inquiry(ctx, decodePayload(MessageType.INQUIRY, payload));
    return { result: response.result, payload: encodePayload(MessageType.INQUIRY_RESPONSE, response), replayed };
  },
};

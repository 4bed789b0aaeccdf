import { MessageType, decodePayload, encodePayload } from '../../../protocol/index.js';
import type { Handler } from './handler.js';

export const signOut: Handler = {
  responseType: MessageType.SIGN_OUT_RESPONSE,
  endsSession: true,
  async run(core, ctx, payload) {
    decodePayload(MessageType.SIGN_OUT, payload);
    const { response, replayed } = await core.signOut(ctx);
    return { result: response.result, payload: encodePayload(MessageType.SIGN_OUT_RESPONSE, response), replayed };
  },
};

import { MessageType, encodePayload } from '../../../protocol/index.js';
import type { Handler } from './handler.js';

export const heartbeat: Handler = {
  responseType: MessageType.HEARTBEAT_RESPONSE,
  async run(core, ctx) {
    const { response, replayed } = await core.heartbeat(ctx);
    return { result: response.result, payload: encodePayload(MessageType.HEARTBEAT_RESPONSE, response), replayed };
  },
};

import { MessageType, ResultCode, decodePayload, encodePayload } from '../../../protocol/index.js';
import type { Handler } from './handler.js';

/**
 * A heartbeat changes nothing: when the session state allows (session-state.ts) the gateway
 * answers it without Redis; otherwise the core runs it through the guard, which also refreshes
 * the session's expiry. The health it reports goes back to the connection, which keeps it on the
 * terminal without making the answer wait (connection.ts writeHeartbeatSeen).
 */
export const heartbeat: Handler = {
  responseType: MessageType.HEARTBEAT_RESPONSE,
  async run(core, ctx, payload, session) {
    const health = decodePayload(MessageType.HEARTBEAT, payload);
    if (session.answerHeartbeatLocally(ctx.seq, ctx.now)) {
      const response = { result: ResultCode.APPROVED, serverTime: Math.floor(ctx.now / 1000) };
      return { result: response.result, payload: encodePayload(MessageType.HEARTBEAT_RESPONSE, response), replayed: false, local: true, health };
    }
    const { response, replayed } = await core.heartbeat(ctx);
    return { result: response.result, payload: encodePayload(MessageType.HEARTBEAT_RESPONSE, response), replayed, health };
  },
};

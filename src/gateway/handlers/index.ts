/**
 * The dispatch table: request type → its handler. SIGN_IN is not here: it opens the session that
 * every handler below runs under, so the connection runs it itself (sign-in.ts).
 */
import { MessageType } from '../../../protocol/index.js';
import { correct } from './correct.js';
import type { Handler } from './handler.js';
import { heartbeat } from './heartbeat.js';
import { inquiry } from './inquiry.js';
import { pay } from './pay.js';
import { settle } from './settle.js';
import { signOut } from './sign-out.js';
import { status } from './status.js';

export type { Handler, HandlerResult } from './handler.js';
export { signIn } from './sign-in.js';
export type { SignInDeps, SignInOutcome } from './sign-in.js';

export const handlers: ReadonlyMap<number, Handler> = new Map<number, Handler>([
  [MessageType.HEARTBEAT, heartbeat],
  [MessageType.INQUIRY, inquiry],
  [MessageType.PAY, pay],
  [MessageType.CORRECT, correct],
  [MessageType.STATUS, status],
  [MessageType.SETTLE, settle],
  [MessageType.SIGN_OUT, signOut],
]);

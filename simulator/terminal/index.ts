export { DEFAULT_HEALTH, Terminal, SignInRefused, GatewayUnreachable, UNAUTHENTICATED_NOTICE_MAX_SEC, type Answer, type TerminalEvent, type TerminalOptions } from './terminal.js';
export {
  FileStateStore,
  MemoryStateStore,
  dayTotals,
  freshState,
  type PendingTransaction,
  type ReceiptRecord,
  type StateStore,
  type TerminalState,
} from './state.js';

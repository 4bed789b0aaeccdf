/**
 * Messages on a gateway instance's kick channel (`keys.kickChannel`): "close this connection",
 * and why, which decides the NOTICE the terminal gets. A message is `<reason> <connectionId>`:
 *   replaced  the terminal signed in on another connection (NOTICE SESSION_REPLACED);
 *   disabled  an operator disabled the terminal (NOTICE TERMINAL_DISABLED).
 * The gateway publishes `replaced` when a sign-in takes over a session another instance holds;
 * the admin publishes `disabled`.
 */
export type KickReason = 'replaced' | 'disabled';

export function kickMessage(reason: KickReason, connectionId: string): string {
  return `${reason} ${connectionId}`;
}

/**
 * A bare connection id (what gateways published before kicks had reasons) or an unknown reason
 * closes the connection as `replaced`: closing is what every kick asks for.
 */
export function parseKickMessage(message: string): { reason: KickReason; connectionId: string } {
  const space = message.indexOf(' ');
  if (space === -1) return { reason: 'replaced', connectionId: message };
  return { reason: message.slice(0, space) === 'disabled' ? 'disabled' : 'replaced', connectionId: message.slice(space + 1) };
}

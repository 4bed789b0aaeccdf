/** Kick channel messages (src/store/kick.ts): what the admin and the gateways publish, read back. */
import { describe, expect, it } from 'vitest';
import { kickMessage, parseKickMessage } from '../../src/store/kick.js';

describe('kick messages', () => {
  it('carry the reason and the connection id, whatever the id holds', () => {
    for (const reason of ['replaced', 'disabled'] as const) {
      for (const connectionId of ['gw1-a1b2c3-17', 'gw 1-a1b2c3-17']) {
        expect(parseKickMessage(kickMessage(reason, connectionId))).toEqual({ reason, connectionId });
      }
    }
  });

  it('read a bare connection id or an unknown reason as replaced: the connection is closed either way', () => {
    expect(parseKickMessage('gw1-a1b2c3-17')).toEqual({ reason: 'replaced', connectionId: 'gw1-a1b2c3-17' });
    expect(parseKickMessage('retired gw1-a1b2c3-17')).toEqual({ reason: 'replaced', connectionId: 'gw1-a1b2c3-17' });
  });
});

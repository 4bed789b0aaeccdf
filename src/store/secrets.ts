/**
 * Secrets at rest: terminal keys are stored sealed under the master key with AES-256-GCM, so a
 * dump of Redis alone does not let anyone sign in as a terminal. Each sealed value is bound to
 * where it belongs by the GCM associated data (terminalKeyAad: purpose, merchant, terminal, key
 * version): a blob copied onto another terminal's record, or an old blob restored after a
 * rotation, does not unseal there.
 * Sealed form: base64(iv[12] || tag[16] || ciphertext).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export const MASTER_KEY_ENV = 'AIRCHARGE_MASTER_KEY';

/**
 * The fixed master key of demo mode. It is public (it is in this file), so demo mode is for
 * trying aircharge out, never for money.
 */
export const DEMO_MASTER_KEY = Buffer.from('aircharge demo master key, public', 'utf8').subarray(0, 32);

export class MasterKeyError extends Error {
  readonly code = 'ERR_MASTER_KEY';
}

/** The master key from AIRCHARGE_MASTER_KEY (64 hex digits); in demo mode the public demo key. */
export function loadMasterKey(env: NodeJS.ProcessEnv, options: { demo: boolean }): Buffer {
  const hex = env[MASTER_KEY_ENV];
  if (hex === undefined || hex === '') {
    if (options.demo) return DEMO_MASTER_KEY;
    throw new MasterKeyError(
      `${MASTER_KEY_ENV} is not set: terminal keys are stored encrypted under it. ` +
        `Set it to 64 hex digits (for example: openssl rand -hex 32), or use --demo for a throwaway demo network.`,
    );
  }
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new MasterKeyError(`${MASTER_KEY_ENV} must be 64 hex digits (32 bytes)`);
  }
  const key = Buffer.from(hex, 'hex');
  // A key typed by hand or left at a placeholder (all zeros, 'abab…') is guessable; 32 random
  // bytes have ~30 distinct values, fewer than 16 happens with odds far below 2^-100.
  if (new Set(key).size < 16) {
    throw new MasterKeyError(`${MASTER_KEY_ENV} has too few distinct bytes to be random: make one with openssl rand -hex 32`);
  }
  if (key.equals(DEMO_MASTER_KEY)) throw new MasterKeyError(`${MASTER_KEY_ENV} is the public demo master key: make one with openssl rand -hex 32`);
  return key;
}

/** What a terminal key's seal is bound to: unsealing it anywhere else fails. */
export function terminalKeyAad(merchantId: string, terminalId: string, keyVersion: number): string {
  return `aircharge terminal key v1|${merchantId}|${terminalId}|${keyVersion}`;
}

/**
 * The master key of this process, read once from its environment and then removed from it, so
 * that nothing spawned later inherits it and nothing that dumps the environment (a crash report,
 * a debugging endpoint, /proc/self/environ of a child) finds it. For the CLIs: `serve`,
 * `console` and the admin commands.
 */
export function takeMasterKey(options: { demo: boolean }): Buffer {
  try {
    return loadMasterKey(process.env, options);
  } finally {
    delete process.env[MASTER_KEY_ENV];
  }
}

export function seal(masterKey: Buffer, clear: Buffer, aad: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', masterKey, iv);
  cipher.setAAD(Buffer.from(aad));
  const body = Buffer.concat([cipher.update(clear), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
}

/** Throws when the sealed value was not made under this master key, for this `aad`, or was altered. */
export function unseal(masterKey: Buffer, sealed: string, aad: string): Buffer {
  const raw = Buffer.from(sealed, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', masterKey, raw.subarray(0, 12));
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]);
}

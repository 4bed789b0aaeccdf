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
 * During a master key rotation (`aircharge master-key rotate`, src/admin/master-key.ts): the key
 * being rotated away from, to unseal and check what was made under it. Everything new is sealed
 * and MACed under AIRCHARGE_MASTER_KEY.
 */
export const PREVIOUS_MASTER_KEY_ENV = 'AIRCHARGE_MASTER_KEY_PREVIOUS';

/** A master key and its version: 1 for a network's first key, one more at each rotation (src/store/key-check.ts). */
export interface MasterKey {
  version: number;
  key: Buffer;
}

/** The master keys a process holds: the one it seals under and, during a rotation, the previous one. */
export class MasterKeys {
  constructor(
    readonly current: MasterKey,
    readonly previous: MasterKey | null = null,
  ) {}

  /** The key of `version`, or undefined when this process does not hold it. */
  key(version: number): Buffer | undefined {
    if (version === this.current.version) return this.current.key;
    if (version === this.previous?.version) return this.previous.key;
    return undefined;
  }
}

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
  return parseMasterKey(env, MASTER_KEY_ENV, options);
}

/** The previous master key from AIRCHARGE_MASTER_KEY_PREVIOUS, checked as the current one is; null when unset. */
export function loadPreviousMasterKey(env: NodeJS.ProcessEnv): Buffer | null {
  const hex = env[PREVIOUS_MASTER_KEY_ENV];
  return hex === undefined || hex === '' ? null : parseMasterKey(env, PREVIOUS_MASTER_KEY_ENV, { demo: false });
}

function parseMasterKey(env: NodeJS.ProcessEnv, name: string, options: { demo: boolean }): Buffer {
  const hex = env[name];
  if (hex === undefined || hex === '') {
    if (options.demo) return DEMO_MASTER_KEY;
    throw new MasterKeyError(
      `${name} is not set: terminal keys are stored encrypted under it. ` +
        `Set it to 64 hex digits (for example: openssl rand -hex 32), or use --demo for a throwaway demo network.`,
    );
  }
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new MasterKeyError(`${name} must be 64 hex digits (32 bytes)`);
  }
  const key = Buffer.from(hex, 'hex');
  // A key typed by hand or left at a placeholder (all zeros, 'abab…') is guessable; 32 random
  // bytes have ~30 distinct values, fewer than 16 happens with odds far below 2^-100.
  if (new Set(key).size < 16) {
    throw new MasterKeyError(`${name} has too few distinct bytes to be random: make one with openssl rand -hex 32`);
  }
  if (key.equals(DEMO_MASTER_KEY)) throw new MasterKeyError(`${name} is the public demo master key: make one with openssl rand -hex 32`);
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

/** The previous master key (AIRCHARGE_MASTER_KEY_PREVIOUS), taken out of the environment as takeMasterKey does. */
export function takePreviousMasterKey(): Buffer | null {
  try {
    return loadPreviousMasterKey(process.env);
  } finally {
    delete process.env[PREVIOUS_MASTER_KEY_ENV];
  }
}

/**
 * A terminal key sealed under a versioned master key: `<version>:<sealed>`, or the sealed value
 * alone for version 1 (what every network sealed before its first rotation). The version picks the
 * key to unseal with; GCM under another key fails whatever the prefix says.
 */
export function sealVersioned(master: MasterKey, clear: Buffer, aad: string): string {
  const sealed = seal(master.key, clear, aad);
  return master.version === 1 ? sealed : `${master.version}:${sealed}`;
}

/** The master key version a value of sealVersioned was sealed under, and the sealed value itself. */
export function sealedVersion(stored: string): { version: number; sealed: string } {
  const colon = stored.indexOf(':');
  return colon < 0 ? { version: 1, sealed: stored } : { version: Number(stored.slice(0, colon)), sealed: stored.slice(colon + 1) };
}

/** Unseals a value of sealVersioned; throws when its version is not held here or it does not unseal. */
export function unsealVersioned(keys: MasterKeys, stored: string, aad: string): Buffer {
  const { version, sealed } = sealedVersion(stored);
  const key = keys.key(version);
  if (key === undefined) throw new MasterKeyError(`sealed under master key version ${version}, which this process does not hold`);
  return unseal(key, sealed, aad);
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

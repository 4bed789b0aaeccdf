/** Loads the committed golden vectors (protocol/vectors/README.md describes the format). */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { MessageMap } from '../../protocol/index.js';
import type { ForgedVector, InvalidVector, MacKey, ValidVector, VectorKeys } from '../../protocol/vectors/format.js';

export type { DecoderOutput, ForgedVector, InvalidVector, ValidVector } from '../../protocol/vectors/format.js';

const dir = fileURLToPath(new URL('../../protocol/vectors/', import.meta.url));

function load<T>(sub: string): T[] {
  return readdirSync(dir + sub)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => JSON.parse(readFileSync(`${dir}${sub}/${file}`, 'utf8')) as T);
}

export const validVectors = load<ValidVector>('valid');
export const invalidVectors = load<InvalidVector>('invalid');
export const forgedVectors = load<ForgedVector>('forged');

/** Byte fields are hex in the JSON. */
const BYTE_FIELDS = new Set(['nonce', 'originalPayload']);

export function messageOf<T extends keyof MessageMap>(vector: ValidVector): MessageMap[T] {
  const value: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(vector.payload)) {
    value[name] = BYTE_FIELDS.has(name) ? Buffer.from(field as string, 'hex') : field;
  }
  return value as unknown as MessageMap[T];
}

export function macKeyOf(vector: { macKey: MacKey; keys: VectorKeys }): Buffer | null {
  if (vector.macKey === 'none') return null;
  const hex = { terminal: vector.keys.terminalKey, session: vector.keys.sessionKey, refusal: vector.keys.refusalKey }[vector.macKey];
  return Buffer.from(hex, 'hex');
}

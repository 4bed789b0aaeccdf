/** Loads the committed golden vectors (protocol/vectors/README.md describes the format). */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { MessageMap } from '../../protocol/index.js';

const dir = fileURLToPath(new URL('../../protocol/vectors/', import.meta.url));

export interface Keys {
  terminalId: string;
  terminalKey: string;
  terminalNonce: string;
  gatewayNonce: string;
  sessionKey: string;
}
export type MacKey = 'terminal' | 'session' | 'none';

export interface ValidVector {
  name: string;
  description: string;
  hex: string;
  header: { version: number; type: number; typeName: string; flags: number; terminalId: string; seq: number; timestamp: number };
  payload: Record<string, unknown>;
  payloadHex: string;
  mac: string;
  crc: string;
  macKey: MacKey;
  keys: Keys;
}

export type DecoderOutput =
  | { error: string; fatal: boolean; header?: { type: number; terminalId: string; seq: number } }
  | { frame: { type: number; seq: number } };

export interface InvalidVector {
  name: string;
  description: string;
  hex: string;
  error: string;
  stage: 'frame' | 'payload' | 'mac';
  fatal: boolean;
  decoder: DecoderOutput[];
  buffered: number;
  recovers: boolean;
  keys?: Keys;
}

function load<T>(sub: string): T[] {
  return readdirSync(dir + sub)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => JSON.parse(readFileSync(`${dir}${sub}/${file}`, 'utf8')) as T);
}

export const validVectors = load<ValidVector>('valid');
export const invalidVectors = load<InvalidVector>('invalid');

/** Byte fields are hex in the JSON. */
const BYTE_FIELDS = new Set(['nonce', 'originalPayload']);

export function messageOf<T extends keyof MessageMap>(vector: ValidVector): MessageMap[T] {
  const value: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(vector.payload)) {
    value[name] = BYTE_FIELDS.has(name) ? Buffer.from(field as string, 'hex') : field;
  }
  return value as unknown as MessageMap[T];
}

export function macKeyOf(vector: { macKey: MacKey; keys: Keys }): Buffer | null {
  if (vector.macKey === 'none') return null;
  return Buffer.from(vector.macKey === 'terminal' ? vector.keys.terminalKey : vector.keys.sessionKey, 'hex');
}

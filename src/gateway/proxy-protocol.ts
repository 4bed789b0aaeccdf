/**
 * The PROXY protocol, version 2 (HAProxy's `send-proxy-v2`), as `serve --proxy-protocol` reads it:
 * behind HAProxy every connection starts with a binary header naming the terminal's own address,
 * which the per-address limits and the logs then use instead of HAProxy's. Parsed incrementally
 * from the first bytes of a connection, with a bound on its length; the spec is
 * https://www.haproxy.org/download/2.8/doc/proxy-protocol.txt §2.2.
 */

/** The 12 bytes every v2 header starts with. */
export const PROXY_V2_SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');
const FIXED = 16;
/**
 * The longest address block accepted (IPv6 addresses are 36 bytes; the rest is TLVs, which HAProxy
 * sends only when configured to). A longer header closes the connection.
 */
export const MAX_PROXY_BLOCK = 220;

export class ProxyHeaderError extends Error {
  readonly code = 'ERR_PROXY_HEADER';
  constructor(message: string) {
    super(message);
    this.name = 'ProxyHeaderError';
  }
}

/** A complete header: the client's address (null for LOCAL, a proxy's own health check) and its length. */
export interface ProxyHeader {
  source: { address: string; port: number } | null;
  length: number;
}

/**
 * The header at the start of `bytes`, or null while more bytes are needed. Throws ProxyHeaderError
 * as soon as the bytes cannot be one (wrong signature, version, command, family, length).
 */
export function parseProxyHeader(bytes: Buffer): ProxyHeader | null {
  const seen = Math.min(bytes.length, PROXY_V2_SIGNATURE.length);
  if (!bytes.subarray(0, seen).equals(PROXY_V2_SIGNATURE.subarray(0, seen))) throw new ProxyHeaderError('no PROXY v2 signature');
  if (bytes.length < FIXED) return null;
  const versionCommand = bytes[12]!;
  if (versionCommand >> 4 !== 2) throw new ProxyHeaderError(`PROXY version ${versionCommand >> 4}, not 2`);
  const command = versionCommand & 0x0f;
  if (command > 1) throw new ProxyHeaderError(`PROXY command ${command}`);
  const family = bytes[13]!;
  const blockLength = bytes.readUInt16BE(14);
  if (blockLength > MAX_PROXY_BLOCK) throw new ProxyHeaderError(`PROXY address block of ${blockLength} bytes`);
  if (bytes.length < FIXED + blockLength) return null;
  const length = FIXED + blockLength;
  // LOCAL: the proxy speaking for itself (a health check); the connection's own address stands.
  if (command === 0) return { source: null, length };
  const block = bytes.subarray(FIXED, length);
  if (family === 0x11 && blockLength >= 12) {
    return { source: { address: [...block.subarray(0, 4)].join('.'), port: block.readUInt16BE(8) }, length };
  }
  if (family === 0x21 && blockLength >= 36) {
    const groups: string[] = [];
    for (let at = 0; at < 16; at += 2) groups.push(block.readUInt16BE(at).toString(16));
    return { source: { address: groups.join(':'), port: block.readUInt16BE(32) }, length };
  }
  throw new ProxyHeaderError(`PROXY family 0x${family.toString(16)} with ${blockLength} address bytes`);
}

/** The aircharge wire protocol v1: everything the gateway and the simulator share. */
export * from './constants.js';
export type * from './messages.js';
export { FRAME_ERROR_CODES, FrameError, FrameErrorCode, type FrameErrorHeader } from './errors.js';
export { crc16 } from './crc.js';
export { deriveRefusalKey, deriveSessionKey, hasZeroMac, requestFingerprint, verifyMac } from './crypto.js';
export { decodeFrame, encodeFrame, type FrameHeader } from './frame.js';
export { FrameDecoder, type FrameDecoderOptions } from './decoder.js';
export { decodePayload, emptyResponse, encodePayload, HEALTH_UNKNOWN, isMessageType } from './payloads.js';
export { formatReceipt, maskHolderName, parseReceipt, responseTypeOf, truncateUtf8 } from './fields.js';

/**
 * The request record (src/store/keys.ts `request`): one string with an expiry,
 * `state|fingerprint|type|value`, where value is the transaction's receipt while pending and the
 * stored response once done (empty for read-only requests). A string is written with its expiry
 * in one command (SET .. EX), and updated keeping it (SET .. XX KEEPTTL).
 */
export const REQUEST_RECORD = `
local function requestRecord(state, fp, requestType, value)
  return state .. '|' .. fp .. '|' .. requestType .. '|' .. value
end
-- → state, fingerprint, type, value; all nil when there is no record.
local function parseRequest(record)
  if not record then return nil end
  return string.match(record, '^([^|]*)|([^|]*)|([^|]*)|(.*)$')
end
-- Marks a finished transaction's request done with its response, if the record still exists.
local function answerRequest(key, resp)
  local _, fp, requestType = parseRequest(redis.call('GET', key))
  if fp then redis.call('SET', key, requestRecord('done', fp, requestType, resp), 'XX', 'KEEPTTL') end
end
`;

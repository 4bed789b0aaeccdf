/**
 * The request record (src/store/keys.ts `request`): one string with an expiry,
 * `state|fingerprint|type|value`, written with its expiry in one command (SET .. EX).
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
`;

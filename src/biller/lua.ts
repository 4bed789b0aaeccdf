/**
 * The embedded biller's scripts, each in one account's slot ({a.<account>}). A posting record per
 * receipt makes post and reverse idempotent: a second call returns the recorded answer.
 * Periods are JSON [{period, amountFen}]; Lua's cjson encodes an empty table as {}, so empty
 * lists are written as [] explicitly.
 */
import { ResultCode as R } from '../../protocol/constants.js';
import { Script } from '../store/script.js';

const PERIODS = `
local function decodePeriods(json)
  -- Most accounts carry no period list: no JSON work for them.
  if not json or json == '' or json == '[]' then return {} end
  local periods = cjson.decode(json)
  table.sort(periods, function(x, y) return x.period < y.period end)
  return periods
end
local function encodePeriods(periods)
  if #periods == 0 then return '[]' end
  return cjson.encode(periods)
end
`;

/**
 * KEYS[1] account, KEYS[2] posting (this receipt), KEYS[3] postings set
 * ARGV[1] receipt, ARGV[2] amount, ARGV[3] now → {result, arrears}
 * A declined posting is recorded too, but not in the postings set: a decline is final, so a repeat
 * (recovery, or a slow live path) cannot book a payment that was already rolled back, even if the
 * account is imported or reopened in between.
 */
export const POST_PAYMENT = new Script(`${PERIODS}
local done = redis.call('HMGET', KEYS[2], 'result', 'arrearsAfter')
if done[1] then return {tonumber(done[1]), tonumber(done[2])} end
local account = redis.call('HMGET', KEYS[1], 'status', 'arrearsFen', 'periods')
local arrears = tonumber(account[2]) or 0
local amount = tonumber(ARGV[2])
local result = ${R.APPROVED}
if not account[1] then result = ${R.UNKNOWN_ACCOUNT}
elseif account[1] ~= 'open' then result = ${R.ACCOUNT_CLOSED}
elseif amount > arrears then result = ${R.OVERPAYMENT} end
if result ~= ${R.APPROVED} then
  local owed = 0
  if result == ${R.OVERPAYMENT} then owed = arrears end
  redis.call('HSET', KEYS[2], 'kind', 'payment', 'amountFen', amount, 'result', result, 'arrearsAfter', owed, 'at', ARGV[3])
  return {result, owed}
end
-- Partial payments clear bill periods oldest first.
local left = amount
local kept, cleared = {}, {}
for _, p in ipairs(decodePeriods(account[3])) do
  local take = math.min(left, p.amountFen)
  left = left - take
  if take > 0 then cleared[#cleared + 1] = {period = p.period, amountFen = take} end
  if p.amountFen > take then kept[#kept + 1] = {period = p.period, amountFen = p.amountFen - take} end
end
arrears = arrears - amount
redis.call('HSET', KEYS[1], 'arrearsFen', arrears, 'periods', encodePeriods(kept))
redis.call('HSET', KEYS[2], 'kind', 'payment', 'amountFen', amount, 'result', result, 'arrearsAfter', arrears,
  'cleared', encodePeriods(cleared), 'at', ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
return {result, arrears}
`);

/**
 * KEYS[1] account, KEYS[2] posting (the correction's receipt), KEYS[3] postings set,
 * KEYS[4] posting of the original payment
 * ARGV[1] correction receipt, ARGV[2] original receipt, ARGV[3] amount, ARGV[4] now → {result, arrears}
 */
export const REVERSE_PAYMENT = new Script(`${PERIODS}
local done = redis.call('HMGET', KEYS[2], 'result', 'arrearsAfter')
if done[1] then return {tonumber(done[1]), tonumber(done[2])} end
local original = redis.call('HMGET', KEYS[4], 'kind', 'result', 'amountFen', 'cleared', 'reversedBy')
if original[1] ~= 'payment' or original[2] ~= '${R.APPROVED}' or original[3] ~= ARGV[3] or original[5] then
  return {${R.ORIGINAL_NOT_FOUND}, 0}
end
local account = redis.call('HMGET', KEYS[1], 'arrearsFen', 'periods')
local arrears = (tonumber(account[1]) or 0) + tonumber(ARGV[3])
local periods = decodePeriods(account[2])
for _, c in ipairs(decodePeriods(original[4])) do
  local merged = false
  for _, p in ipairs(periods) do
    if p.period == c.period then p.amountFen = p.amountFen + c.amountFen; merged = true end
  end
  if not merged then periods[#periods + 1] = c end
end
table.sort(periods, function(x, y) return x.period < y.period end)
redis.call('HSET', KEYS[1], 'arrearsFen', arrears, 'periods', encodePeriods(periods))
redis.call('HSET', KEYS[2], 'kind', 'reversal', 'amountFen', ARGV[3], 'original', ARGV[2], 'result', ${R.APPROVED},
  'arrearsAfter', arrears, 'at', ARGV[4])
redis.call('HSET', KEYS[4], 'reversedBy', ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
return {${R.APPROVED}, arrears}
`);

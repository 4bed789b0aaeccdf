/**
 * The embedded biller's scripts, each in one account's slot ({a.<account>}). A posting record per
 * receipt makes post and reverse idempotent: a second call returns the recorded answer.
 *
 * A bill is one field of the account's bills hash, `period|amountFen|issueDate|status|paidFen`
 * (bill-record.ts reads and writes the same layout in TypeScript). What a posting cleared is kept
 * on it as `billId:period:fen;...`, oldest bill first, so its reversal puts back exactly that.
 */
import { ResultCode as R } from '../../protocol/constants.js';
import { Script } from '../store/script.js';

/** Shared Lua: bills parsed from and written back to their hash, oldest first. */
export const BILLS_LUA = `
local function readBills(key)
  local flat = redis.call('HGETALL', key)
  local bills = {}
  for i = 1, #flat, 2 do
    local period, amount, issued, status, paid = string.match(flat[i + 1], '^(%d+)|(%d+)|([^|]*)|(%a+)|(%d+)')
    bills[#bills + 1] = {id = flat[i], period = tonumber(period) or 0, amount = tonumber(amount) or 0,
      issued = issued or '', status = status or '', paid = tonumber(paid) or 0, raw = flat[i + 1]}
  end
  table.sort(bills, function(x, y)
    if x.period ~= y.period then return x.period < y.period end
    if x.issued ~= y.issued then return x.issued < y.issued end
    return x.id < y.id
  end)
  return bills
end
local function arrearsOf(bills)
  local owed = 0
  for _, b in ipairs(bills) do
    if b.status == 'open' then owed = owed + b.amount - b.paid end
  end
  return owed
end
-- Replaces the paid figure of a bill record, leaving every other part (and any MAC after it) as it was.
local function withPaid(raw, paid)
  return (string.gsub(raw, '^(%d+|%d+|[^|]*|%a+|)%d+', '%1' .. paid, 1))
end
`;

/**
 * KEYS[1] account, KEYS[2] bills, KEYS[3] posting (this receipt), KEYS[4] postings set
 * ARGV[1] receipt, ARGV[2] amount, ARGV[3] now, ARGV[4] day → {result, arrears, cleared, holder name}
 * (the holder's name for the receipt the terminal prints)
 * A declined posting is recorded too, but not in the postings set: a decline is final, so a repeat
 * (recovery, or a slow live path) cannot book a payment that was already rolled back, even if the
 * account is imported or reopened in between.
 */
export const POST_PAYMENT = new Script(`${BILLS_LUA}
local done = redis.call('HMGET', KEYS[3], 'result', 'arrearsAfter', 'cleared')
if done[1] then return {tonumber(done[1]), tonumber(done[2]), done[3] or '', redis.call('HGET', KEYS[1], 'name') or ''} end
local status, name = unpack(redis.call('HMGET', KEYS[1], 'status', 'name'))
local bills = readBills(KEYS[2])
local arrears = arrearsOf(bills)
local amount = tonumber(ARGV[2])
local result = ${R.APPROVED}
if not status then result = ${R.UNKNOWN_ACCOUNT}
elseif status ~= 'open' then result = ${R.ACCOUNT_CLOSED}
elseif amount > arrears then result = ${R.OVERPAYMENT} end
if result ~= ${R.APPROVED} then
  local owed = 0
  if result == ${R.OVERPAYMENT} then owed = arrears end
  redis.call('HSET', KEYS[3], 'kind', 'payment', 'amountFen', amount, 'result', result, 'arrearsAfter', owed,
    'at', ARGV[3], 'day', ARGV[4])
  return {result, owed, ''}
end
-- Bills are cleared oldest first, each fully before the next.
local left = amount
local cleared = {}
for _, b in ipairs(bills) do
  if left == 0 then break end
  local take = 0
  if b.status == 'open' then take = math.min(left, b.amount - b.paid) end
  if take > 0 then
    left = left - take
    redis.call('HSET', KEYS[2], b.id, withPaid(b.raw, b.paid + take))
    cleared[#cleared + 1] = b.id .. ':' .. b.period .. ':' .. take
  end
end
arrears = arrears - amount
local clearedText = table.concat(cleared, ';')
redis.call('HSET', KEYS[3], 'kind', 'payment', 'amountFen', amount, 'result', result, 'arrearsAfter', arrears,
  'cleared', clearedText, 'at', ARGV[3], 'day', ARGV[4])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1])
return {result, arrears, clearedText, name or ''}
`);

/**
 * KEYS[1] bills, KEYS[2] posting (the correction's receipt), KEYS[3] postings set,
 * KEYS[4] posting of the original payment
 * ARGV[1] correction receipt, ARGV[2] original receipt, ARGV[3] amount, ARGV[4] now, ARGV[5] day
 * → {result, arrears, restored}
 */
export const REVERSE_PAYMENT = new Script(`${BILLS_LUA}
local done = redis.call('HMGET', KEYS[2], 'result', 'arrearsAfter', 'cleared')
if done[1] then return {tonumber(done[1]), tonumber(done[2]), done[3] or ''} end
local original = redis.call('HMGET', KEYS[4], 'kind', 'result', 'amountFen', 'cleared', 'reversedBy')
if original[1] ~= 'payment' or original[2] ~= '${R.APPROVED}' or original[3] ~= ARGV[3] or original[5] then
  return {${R.ORIGINAL_NOT_FOUND}, 0, ''}
end
for item in string.gmatch(original[4] or '', '[^;]+') do
  local id, fen = string.match(item, '^(.+):%d+:(%d+)$')
  local raw = redis.call('HGET', KEYS[1], id)
  -- A bill gone from the hash was removed behind the biller's back: verify names the account.
  if raw then
    local paid = tonumber(string.match(raw, '^%d+|%d+|[^|]*|%a+|(%d+)'))
    redis.call('HSET', KEYS[1], id, withPaid(raw, paid - tonumber(fen)))
  end
end
local arrears = arrearsOf(readBills(KEYS[1]))
redis.call('HSET', KEYS[2], 'kind', 'reversal', 'amountFen', ARGV[3], 'original', ARGV[2], 'result', ${R.APPROVED},
  'arrearsAfter', arrears, 'cleared', original[4] or '', 'at', ARGV[4], 'day', ARGV[5])
redis.call('HSET', KEYS[4], 'reversedBy', ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
return {${R.APPROVED}, arrears, original[4] or ''}
`);

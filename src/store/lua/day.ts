/**
 * The business day's counters (src/store/keys.ts `day`): one read and one write of the four fields
 * a movement changes, the merchant's and the terminal's, in place of four HINCRBY (each a command,
 * and each an entry in the AOF). Sums stay integers: string.format('%d') writes them exactly, where
 * Lua's own number-to-string conversion would switch to exponent notation past 14 digits.
 */
export const DAY_COUNTERS = `
local function countOnDay(dayKey, terminal, countField, fenField, amount)
  local tCount, tFen = terminal .. ':' .. countField, terminal .. ':' .. fenField
  local now = redis.call('HMGET', dayKey, countField, fenField, tCount, tFen)
  local function plus(value, n) return string.format('%d', (tonumber(value) or 0) + n) end
  redis.call('HSET', dayKey, countField, plus(now[1], 1), fenField, plus(now[2], amount), tCount, plus(now[3], 1),
    tFen, plus(now[4], amount))
end
`;

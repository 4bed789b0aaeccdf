/**
 * Lua fragments for the two kinds of account (src/core/README.md "Kinds of account") and the
 * daily caps, shared by the PAY and CORRECT scripts and the admin's top-ups.
 *
 * - An outlet's float has a low-float warning state with hysteresis: entered when the float goes
 *   below the merchant's threshold (`lowFloatFen`, else the configured default), left only when it
 *   rises above threshold + margin, so a float hovering at the threshold does not flap. The state
 *   is the merchant hash's `lowFloat` field; the script returns the transition ('enter', 'leave'
 *   or '') so the caller logs it once.
 * - A collector's cash held has a near-cash-limit state of the same shape, in percent of his cash
 *   limit: entered when a change leaves his cash at `pct`% of the limit or more, left only when it
 *   falls below (pct − margin)% (default 90 and 10: in at ¥2,700 of ¥3,000, out below ¥2,400); pct 0:
 *   never. The merchant hash's `cashNear` field; transitions 'cash-enter' / 'cash-leave' for the
 *   caller to log.
 * - Daily caps count every payment reserved on the business day, per merchant and per terminal
 *   (`capCount`, `capFen` in the day hash), and give back a payment declined by the biller.
 */
import { TxnFlag } from '../../../protocol/constants.js';

export const BALANCE = `
-- known: {lowFloatFen, lowFloat} when the script has read them already, else nil.
local function lowFloat(merchantKey, floatFen, defaultThreshold, margin, known)
  local m = known or redis.call('HMGET', merchantKey, 'lowFloatFen', 'lowFloat')
  local threshold = tonumber(m[1]) or tonumber(defaultThreshold)
  local low = m[2] == '1'
  if not low and floatFen < threshold then
    redis.call('HSET', merchantKey, 'lowFloat', '1')
    return ${TxnFlag.LOW_FLOAT}, 'enter'
  end
  if low and floatFen > threshold + tonumber(margin) then
    redis.call('HDEL', merchantKey, 'lowFloat')
    return 0, 'leave'
  end
  if low then return ${TxnFlag.LOW_FLOAT}, '' end
  return 0, ''
end
-- known: {cashNear} when the script has read it already, else nil.
local function cashNear(merchantKey, cashFen, limit, pct, margin, known)
  local near = (known or redis.call('HMGET', merchantKey, 'cashNear'))[1] == '1'
  pct, margin = tonumber(pct), tonumber(margin)
  if not near and pct > 0 and cashFen * 100 >= limit * pct then
    redis.call('HSET', merchantKey, 'cashNear', '1')
    return ${TxnFlag.CASH_NEAR_LIMIT}, 'cash-enter'
  end
  if near and (pct == 0 or cashFen * 100 < limit * (pct - margin)) then
    redis.call('HDEL', merchantKey, 'cashNear')
    return 0, 'cash-leave'
  end
  if near then return ${TxnFlag.CASH_NEAR_LIMIT}, '' end
  return 0, ''
end
-- Adds n payments of amount fen (n may be -1 to give one back) to the day's cap counters.
local function countOnCaps(dayKey, terminal, n, amount)
  local tCount, tFen = terminal .. ':capCount', terminal .. ':capFen'
  local now = redis.call('HMGET', dayKey, 'capCount', 'capFen', tCount, tFen)
  local function plus(value, d) return string.format('%d', (tonumber(value) or 0) + d) end
  redis.call('HSET', dayKey, 'capCount', plus(now[1], n), 'capFen', plus(now[2], amount), tCount, plus(now[3], n),
    tFen, plus(now[4], amount))
end
-- limits: {countLimit|false, fenLimit|false}. True when one more payment of amount would pass one.
local function overCap(limits, usedCount, usedFen, amount)
  local countLimit, fenLimit = tonumber(limits[1]), tonumber(limits[2])
  if countLimit and (tonumber(usedCount) or 0) + 1 > countLimit then return true end
  if fenLimit and (tonumber(usedFen) or 0) + amount > fenLimit then return true end
  return false
end
`;

/**
 * The response of a PAY or CORRECT (PROTOCOL.md §3.4) as the scripts return and store it:
 * `result:receipt:arrearsFen:floatFen:businessDay:flags:cashHeldFen:periods:holderName`, short and
 * cheap to build in Lua; periods as `YYYYMM=fen,...`, the masked holder name last (it may hold a
 * colon). A request declined before its transaction started keeps it in its request record.
 *
 * Transaction records hold the parts, not the string (every value under 64 bytes, so each record
 * stays in Redis's compact listpack encoding): scripts read them with hmgetTxn() (its ten fields
 * first, then any others asked for, from t[11] on) and responseOf() rebuilds the response, the same every time
 * STATUS or a retransmission asks.
 */
import { ResultCode as R } from '../../../protocol/constants.js';

export const TXN_RESPONSE = `
local function txnResponse(result, receipt, arrearsFen, floatFen, businessDay, flags, cashFen, paid, holder)
  return result .. ':' .. receipt .. ':' .. arrearsFen .. ':' .. floatFen .. ':' .. businessDay .. ':' .. (flags or 0) ..
    ':' .. (cashFen or 0) .. ':' .. (paid or '') .. ':' .. (holder or '')
end
-- t: a transaction's hmgetTxn(). false while pending or when there is no record.
local function responseOf(t)
  if t[1] == 'complete' then return txnResponse(t[2], t[3], t[4], t[5], t[6], t[7], t[8], t[9], t[10]) end
  if t[1] == 'declined' then
    local owed = 0
    if tonumber(t[2]) == ${R.OVERPAYMENT} then owed = t[4] end
    return txnResponse(t[2], '', owed, 0, 0)
  end
  return false
end
local function hmgetTxn(key, ...)
  return redis.call('HMGET', key, 'state', 'result', 'receipt', 'arrearsAfter', 'floatAfter', 'businessDay', 'flags',
    'cashAfter', 'paid', 'holder', ...)
end
`;

/**
 * The stored response of a PAY or CORRECT, built in Lua: the JSON of a PayResponse (PROTOCOL.md
 * §3.4), which STATUS and retransmissions send again byte for byte once encoded.
 */
export const TXN_RESPONSE = `
local function txnResponse(result, receipt, arrearsFen, floatFen, businessDay)
  return cjson.encode({result = result, receipt = receipt, arrearsFen = arrearsFen, floatFen = floatFen,
    businessDay = businessDay})
end
`;

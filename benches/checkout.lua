-- wrk script: POST /api/v1/orders for one unit of SKU, each request as the next customer
-- of the token file TOKENS (env vars).
local tokens = {}
for line in io.lines(os.getenv("TOKENS")) do
  if line ~= "" then tokens[#tokens + 1] = line end
end
local body = '{"items":[{"sku":"' .. os.getenv("SKU") .. '","quantity":1}],'
  .. '"shipping_address":{"name":"Bench Buyer","line1":"1 Load Lane","city":"Lyon",'
  .. '"postal_code":"69001","country":"FR"},"payment":{"token":"tok_visa"}}'
local sent = 0
request = function()
  sent = sent + 1
  return wrk.format("POST", "/api/v1/orders", {
    ["content-type"] = "application/json",
    ["authorization"] = "Bearer " .. tokens[(sent % #tokens) + 1],
  }, body)
end

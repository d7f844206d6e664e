-- wrk script: POST /api/v2/batch with SIZE identifies (default 1,000) per request, each
-- for a random id of a pool of two million (new customers at first, then more and
-- more updates), with an email in the attributes so that each checks two digests.
-- Set AUTH to the base64 of "site_id:key".
local auth = os.getenv("AUTH") or ""
local size = tonumber(os.getenv("SIZE") or "1000")
local prefix = os.getenv("PREFIX") or "batch"
local counter = 0

request = function()
  counter = counter + 1
  local parts = {}
  for n = 1, size do
    local id = prefix .. "-" .. tostring(math.random(1, 2000000))
    parts[n] = '{"type":"person","action":"identify","identifiers":{"id":"' .. id ..
      '"},"attributes":{"email":"' .. id .. '@example.com","plan":"pro","country":"DE","n":' .. counter .. '}}'
  end
  local headers = { ["Authorization"] = "Basic " .. auth, ["Content-Type"] = "application/json" }
  return wrk.format("POST", "/api/v2/batch", headers, '{"batch":[' .. table.concat(parts, ",") .. ']}')
end

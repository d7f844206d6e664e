-- wrk script: identify (PUT) or track (POST …/events) calls with distinct ids.
-- Set MODE=identify|track, and AUTH to the base64 of "site_id:key".
local counter = 0
local mode = os.getenv("MODE") or "identify"
local auth = os.getenv("AUTH") or ""
local prefix = os.getenv("PREFIX") or "bench"

request = function()
  counter = counter + 1
  local id = prefix .. "-" .. tostring(math.random(1, 50000)) .. "-" .. counter % 7
  local headers = { ["Authorization"] = "Basic " .. auth, ["Content-Type"] = "application/json" }
  if mode == "track" then
    return wrk.format("POST", "/api/v1/customers/" .. id .. "/events", headers,
      '{"name":"page_viewed","data":{"path":"/pricing","n":' .. counter .. '}}')
  end
  return wrk.format("PUT", "/api/v1/customers/" .. id, headers,
    '{"email":"' .. id .. '@example.com","plan":"pro","country":"DE"}')
end

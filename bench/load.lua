-- wrk script for bench/load.sh: the console's side of the mixed load, one kind per wrk.
-- MODE=list: the first page of the customers list; MODE=filtered: the list under a
-- rotation of filters; MODE=profile: a customer's profile, ids 1..MAX_ID (a deleted
-- one answers 404); MODE=search: the list under a rotation of searches. COOKIE is the signed-in session. Counts answers of 500 and over
-- and bodies that say "database is locked", and prints both when done.
local mode = os.getenv("MODE") or "list"
local cookie = os.getenv("COOKIE") or ""
local workspace = os.getenv("WORKSPACE") or "bench"
local max_id = tonumber(os.getenv("MAX_ID") or "100000")
local filters = {
  "country=DE",
  "city=Berlin",
  "status=active",
  "seen_from=2026-01-01&seen_to=2026-03-31",
  "country=FR&status=inactive&sort=name",
}
-- MODE=search: searches for common and rare terms, alone and with other filters.
local searches = {
  "q=ada",
  "q=gmail",
  "q=ada&country=DE",
  "q=gmail&status=active",
  "q=user12345",
  "q=yahoo&seen_from=2026-06-01&seen_to=2026-06-30",
}
local counter = 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  server_errors = 0
  locked = 0
end

request = function()
  counter = counter + 1
  local path = "/w/" .. workspace .. "/customers"
  if mode == "filtered" then
    path = path .. "?" .. filters[counter % #filters + 1]
  elseif mode == "search" then
    path = path .. "?" .. searches[counter % #searches + 1]
  elseif mode == "profile" then
    path = path .. "/" .. tostring(math.random(1, max_id))
  end
  return wrk.format("GET", path, { ["Cookie"] = cookie })
end

response = function(status, headers, body)
  if status >= 500 then
    server_errors = server_errors + 1
  end
  if body and string.find(body, "database is locked", 1, true) then
    locked = locked + 1
  end
end

done = function(summary, latency, requests)
  local errors, lock = 0, 0
  for _, thread in ipairs(threads) do
    errors = errors + thread:get("server_errors")
    lock = lock + thread:get("locked")
  end
  io.write(string.format("5xx: %d\nlocked: %d\n", errors, lock))
end

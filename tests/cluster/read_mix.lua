-- wrk script for the cluster's read load test (tests/cluster/test_load.py): each request takes
-- the next path of the file named by READ_MIX_PATHS (one per line); /api/ paths carry the API
-- token in READ_MIX_TOKEN, as an API client's do (anonymous API reads are rate-limited per
-- address, and wrk has one).
local paths = {}
local token = os.getenv("READ_MIX_TOKEN")
local n = 0

for line in io.lines(os.getenv("READ_MIX_PATHS")) do
  paths[#paths + 1] = line
end

function setup(thread)
  -- Threads start at different places in the list.
  thread:set("offset", math.random(#paths))
end

request = function()
  n = n + 1
  local path = paths[(n + (offset or 0)) % #paths + 1]
  local headers = {}
  if path:sub(1, 5) == "/api/" then
    headers["Authorization"] = "Token " .. token
  end
  return wrk.format("GET", path, headers)
end

-- wrk script: each request takes the next path from a file (one path per line), so a URL such
-- as the provider search is measured over a rotating set of queries, not one cached answer.
-- Usage: wrk ... -s bench/wrk_rotate.lua http://127.0.0.1:8765 -- paths.txt
local paths = {}
local counter = 0

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then
      paths[#paths + 1] = line
    end
  end
  -- Threads start at different places in the list.
  counter = math.random(#paths)
end

function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1])
end

-- wrk script for http_vs_workerd.sh's "spread" case: each request goes to one
-- of N objects picked uniformly at random.
--   wrk ... -s http_vs_workerd.lua URL -- PATH_TEMPLATE N PREFIX
-- PATH_TEMPLATE holds one %s for the object name (the URL shape differs per
-- server); names are PREFIX-0 .. PREFIX-(N-1).

local threads = 0

function setup(thread)
  -- Each thread has its own Lua state; give each its own random seed.
  threads = threads + 1
  thread:set("id", threads)
end

function init(args)
  local template, n, prefix = args[1], tonumber(args[2]), args[3]
  math.randomseed(os.time() * 100 + (id or 0))
  -- Format every request up front so the per-request cost stays tiny.
  reqs = {}
  for i = 0, n - 1 do
    reqs[i + 1] = wrk.format("GET", string.format(template, prefix .. "-" .. i))
  end
end

function request()
  return reqs[math.random(#reqs)]
end

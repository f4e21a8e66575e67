-- wrk script for bench/login.sh: POST /api/v1/login with a JSON body, for
-- users bench0..bench(N-1) in turn (each wrk thread starts at its own
-- offset), always with "takeover": true so a user who is still logged in
-- from an earlier request is not refused with 409.
--
-- Usage: wrk -t2 -c4 -d10s --latency -s login.lua http://127.0.0.1:PORT -- USERS PASSWORD
-- done() prints one "login.lua:" line of counts (200, 409, 429, other, and
-- 200 replies without a token) and one of rate and latency.

local users, password = 1, ""
local next_user = 0
local threads = {}
local headers = { ["Content-Type"] = "application/json" }

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  users = tonumber(args[1]) or 1
  password = args[2] or ""
  next_user = ((tid or 0) * 7919) % users
  ok, conflict, limited, other, notoken = 0, 0, 0, 0, 0
end

function request()
  local name = "bench" .. next_user
  next_user = (next_user + 1) % users
  local body = string.format('{"username":"%s","password":"%s","takeover":true}', name, password)
  return wrk.format("POST", "/api/v1/login", headers, body)
end

function response(status, hdrs, body)
  if status == 200 then
    ok = ok + 1
    if not body:find('"token"', 1, true) then notoken = notoken + 1 end
  elseif status == 409 then conflict = conflict + 1
  elseif status == 429 then limited = limited + 1
  else other = other + 1 end
end

function done(summary, latency, requests)
  local s = { ok = 0, conflict = 0, limited = 0, other = 0, notoken = 0 }
  for _, t in ipairs(threads) do
    for k, _ in pairs(s) do s[k] = s[k] + (t:get(k) or 0) end
  end
  local e = summary.errors
  io.write(string.format("login.lua: http200=%d http409=%d http429=%d other=%d no_token=%d errors=%d\n",
    s.ok, s.conflict, s.limited, s.other, s.notoken,
    e.connect + e.read + e.write + e.status + e.timeout))
  io.write(string.format("login.lua: requests=%d duration_s=%.2f rps=%.1f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end

-- Copied from /work/shared/bench/announce.lua (the shared wrk announce script)
-- so bench/tracker.sh works from the repository. One addition: WRK_CLOSE=1
-- sends "Connection: close" on every request (one TCP connection per
-- announce, as opentracker always does), which INTEROP.md describes but the
-- shared copy lacked. Keep the two in step.
-- wrk script: valid BitTorrent HTTP tracker announce GETs (BEP 3 / BEP 23 compact).
--
-- Usage (loopback only):
--   wrk -t2 -c50 -d10s --latency -s announce.lua http://127.0.0.1:6969 -- [HASHFILE|-] [PATH] [NUMWANT]
--     HASHFILE  file with one 40-hex info-hash per line; each request picks one at random.
--               "-" or omitted => a fresh random 20-byte info_hash per request.
--     PATH      announce path, default /announce
--     NUMWANT   optional numwant=N (omitted by default => tracker default)
--   Env: WRK_CHECK=0 disables the response() hook (a bit faster; no failure counting).
--
-- Every request: random 20-byte info_hash (or from HASHFILE) and peer_id (prefix -WK0001-),
-- all bytes %XX url-encoded, random port 1024..65535, uploaded=0, downloaded=0, left=0, compact=1.
-- done() prints how many responses were HTTP 200, had a bencoded "failure reason",
-- and looked like a valid compact announce reply ("5:peers").

local hashes = nil
local path = "/announce"
local numwant = nil

local hexbyte = {}
for i = 0, 255 do hexbyte[i] = string.format("%%%02X", i) end

local function rand_urlbytes(n)
  local t = {}
  for i = 1, n do t[i] = hexbyte[math.random(0, 255)] end
  return table.concat(t)
end

local function hex_to_url(h)
  return (h:gsub("%x%x", function(x) return "%" .. x:upper() end))
end

local peer_prefix = "-WK0001-" -- 8 bytes, url-safe

local threads = {}

-- WRK_CLOSE=1: one connection per request.
local close_headers = nil
if os.getenv("WRK_CLOSE") == "1" then close_headers = { ["Connection"] = "close" } end

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() + (tid or 0) * 7919)
  local hf = args[1]
  if hf and hf ~= "-" then
    hashes = {}
    for line in io.lines(hf) do
      local h = line:match("^(%x+)")
      if h and #h == 40 then hashes[#hashes + 1] = hex_to_url(h) end
    end
    if #hashes == 0 then error("no hashes in " .. hf) end
  end
  if args[2] and args[2] ~= "" then path = args[2] end
  if args[3] and args[3] ~= "" then numwant = args[3] end
  ok200, failures, valid, other = 0, 0, 0, 0
end

function request()
  local ih
  if hashes then ih = hashes[math.random(1, #hashes)] else ih = rand_urlbytes(20) end
  local q = path .. "?info_hash=" .. ih
    .. "&peer_id=" .. peer_prefix .. rand_urlbytes(12)
    .. "&port=" .. math.random(1024, 65535)
    .. "&uploaded=0&downloaded=0&left=0&compact=1"
  if numwant then q = q .. "&numwant=" .. numwant end
  return wrk.format("GET", q, close_headers)
end

if os.getenv("WRK_CHECK") ~= "0" then
  function response(status, headers, body)
    if status == 200 then ok200 = ok200 + 1 else other = other + 1 end
    if body:find("failure reason", 1, true) then
      failures = failures + 1
    elseif body:find("5:peers", 1, true) then
      valid = valid + 1
    end
  end
end

function done(summary, latency, requests)
  local a, f, v, o = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    a = a + (t:get("ok200") or 0)
    f = f + (t:get("failures") or 0)
    v = v + (t:get("valid") or 0)
    o = o + (t:get("other") or 0)
  end
  io.write(string.format("announce.lua: http200=%d non200=%d failure_reason=%d valid_peers_reply=%d\n", a, o, f, v))
  io.write(string.format("announce.lua: requests=%d duration_s=%.2f rps=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
  local e = summary.errors
  io.write(string.format("announce.lua: errors connect=%d read=%d write=%d status=%d timeout=%d\n",
    e.connect, e.read, e.write, e.status, e.timeout))
end

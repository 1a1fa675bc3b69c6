-- wrk script: replays pre-encrypted WeCom callbacks from a file (one "path?query<TAB>body" a line,
-- each with a distinct MsgId), written by bench/bench_e2e.py. Set CALLBACKS to the file's path and,
-- with wrk -tN, THREADS=N: thread k then sends lines k, k+N, k+2N, … so no MsgId is sent twice.
-- START=n skips the first n lines (to go on where the previous run of wrk stopped).
local requests = {}
local index = 0
local next_thread = 0

function setup(thread)
  thread:set("thread_id", next_thread)
  next_thread = next_thread + 1
end

function init(args)
  local path = os.getenv("CALLBACKS")
  local threads = tonumber(os.getenv("THREADS") or "1")
  local me = thread_id or 0
  local start = tonumber(os.getenv("START") or "0")
  local n = 0
  for line in io.lines(path) do
    if n >= start and (n - start) % threads == me then
      local target, body = line:match("^([^\t]+)\t(.*)$")
      requests[#requests + 1] = wrk.format("POST", target, {["Content-Type"] = "text/xml"}, body)
    end
    n = n + 1
  end
end

function request()
  index = index + 1
  if index > #requests then index = 1 end
  return requests[index]
end

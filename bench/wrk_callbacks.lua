-- wrk script: replays pre-encrypted WeCom callbacks from a file (one "path?query<TAB>body" a line,
-- each with a distinct MsgId), written by bench/bench_e2e.py. Set CALLBACKS to the file's path.
local requests = {}
local index = 0

function init(args)
  local path = os.getenv("CALLBACKS")
  for line in io.lines(path) do
    local target, body = line:match("^([^\t]+)\t(.*)$")
    requests[#requests + 1] = wrk.format("POST", target, {["Content-Type"] = "text/xml"}, body)
  end
end

function request()
  index = index + 1
  if index > #requests then index = 1 end
  return requests[index]
end

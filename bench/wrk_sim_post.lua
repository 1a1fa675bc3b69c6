-- wrk script: POST /api/sim/messages with a unique msg_id per request and a realistic mix of texts
-- (most chit-chat, some questions), from many different residents of one group.
local texts = {
  "大家早上好", "收到", "哈哈哈 好的", "今天有什么活动", "谢谢志愿者",
  "今天社区有啥活动不", "[玫瑰][玫瑰]", "天冷了 大家注意保暖", "好的好的", "明天啥活动",
}
local counter = 0
local thread_id = 0
local next_thread = 0

function setup(thread)
  thread:set("thread_id", next_thread)
  next_thread = next_thread + 1
end

function request()
  counter = counter + 1
  local text = texts[(counter % #texts) + 1]
  local body = string.format(
    '{"group":"g-res-1","user":"bench-%d","name":"压测%d","text":"%s","msg_id":"b-%d-%d-%d"}',
    counter % 200, counter % 200, text, thread_id, counter, math.random(1, 1000000000))
  return wrk.format("POST", "/api/sim/messages", {["Content-Type"] = "application/json"}, body)
end

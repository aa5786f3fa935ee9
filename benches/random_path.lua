-- wrk script: each request GETs PREFIX .. a random line of the file LINES (env vars).
local lines = {}
local prefix = os.getenv("PREFIX") or "/"
for line in io.lines(os.getenv("LINES")) do
  if line ~= "" then lines[#lines + 1] = line end
end
math.randomseed(os.time())
request = function()
  return wrk.format("GET", prefix .. lines[math.random(#lines)])
end

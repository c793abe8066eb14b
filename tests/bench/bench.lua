-- Lua interpreter workload for scripts/bench: tables, closures, string
-- operations (format, gsub, find), integer arithmetic and sorting.
-- Output does not depend on table iteration order.
-- Usage: lua5.4 bench.lua [scale]   (scale 100 = default work)
local scale = tonumber(arg[1] or "100")

local seed = 12345
local function rnd()
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed // 256 -- the low bits of a power-of-two LCG are weak
end

local syl = { "ka", "lo", "mi", "ne", "ru", "sa", "to", "vu", "xe", "zo", "an", "el", "or", "ix" }
local words = {}
for i = 1, 2000 * scale do
  local parts = {}
  for k = 1, 1 + rnd() % 4 do parts[k] = syl[1 + rnd() % #syl] end
  words[i] = table.concat(parts)
end

-- counting in a hash table
local counts, distinct = {}, 0
for _, w in ipairs(words) do
  local c = counts[w]
  if not c then distinct = distinct + 1; c = 0 end
  counts[w] = c + 1
end
local keys = {}
for k in pairs(counts) do keys[#keys + 1] = k end
table.sort(keys, function(a, b)
  if counts[a] ~= counts[b] then return counts[a] > counts[b] end
  return a < b
end)
print("distinct", distinct, "top", keys[1], counts[keys[1]], keys[2], counts[keys[2]])

-- string operations
local text = table.concat(words, " ", 1, 500 * scale)
local replaced, nrep = text:gsub("ka(%a)", "K%1")
local upper = text:upper()
local nfound, pos = 0, 1
while true do
  local s = upper:find("ZOZO", pos, true)
  if not s then break end
  nfound = nfound + 1
  pos = s + 1
end
local parts = {}
for i = 1, 300 * scale do parts[#parts + 1] = string.format("%s:%d:%x", words[i], i, i * 7) end
local joined = table.concat(parts, "\n")
print("strings", #replaced, nrep, nfound, #joined)

-- integer loops
local best, total = 0, 0
for s = 1, 60 * scale do
  local x, c = s, 0
  while x ~= 1 do
    if x % 2 == 0 then x = x // 2 else x = 3 * x + 1 end
    c = c + 1
  end
  total = total + c
  if c > best then best = c end
end
print("collatz", best, total)

-- closures and method-style calls
local function counter()
  local n = 0
  return function(d) n = n + d; return n end
end
local Vec = {}
Vec.__index = Vec
function Vec.new(x, y) return setmetatable({ x = x, y = y }, Vec) end
function Vec:add(o) return Vec.new(self.x + o.x, self.y + o.y) end
local c, acc = counter(), Vec.new(0, 0)
for k = 1, 300 * scale do
  acc = acc:add(Vec.new(k % 7, k % 11))
  c(acc.x % 13)
end
print("objects", acc.x, acc.y, c(0))

-- sorting numbers
local data = {}
for i = 1, 400 * scale do data[i] = rnd() % 100000 end
table.sort(data)
print("sort", data[1], data[#data // 2], data[#data])

-- Integer sum with a loop-carried dependency: total += (i ^ total) & 0xFFFF.
-- total stays below 2^51, where LuaJIT's bit operations wrap modulo 2^32 exactly.
local bit = require("bit")
local bxor, band = bit.bxor, bit.band
local N = tonumber(arg[1]) or 200000000

local function intsum(n)
  local total = 0
  for i = 0, n - 1 do
    total = total + band(bxor(i, total), 65535)
  end
  return total
end

print(string.format("%.0f", intsum(N)))

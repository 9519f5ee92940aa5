-- xorshift32 with LuaJIT's 32-bit bit operations; the checksum is the sum of the
-- (unsigned) outputs modulo 2^48.
local bit = require("bit")
local bxor, lshift, rshift = bit.bxor, bit.lshift, bit.rshift
local N = tonumber(arg[1]) or 100000000

local x = bit.tobit(2463534242)
local total = 0
for _ = 1, N do
  x = bxor(x, lshift(x, 13))
  x = bxor(x, rshift(x, 17))
  x = bxor(x, lshift(x, 5))
  total = (total + x % 4294967296) % 281474976710656
end
print(string.format("%.0f", total))

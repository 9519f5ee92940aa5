-- Headline: the sum of N integers from a 16-bit LCG (values stay far below 2^53).
local N = tonumber(arg[1]) or 1000000

local x, total = 1, 0
for _ = 0, N - 1 do
  x = (x * 5 + 1) % 65536
  total = total + x
end
print(string.format("%.0f", total))

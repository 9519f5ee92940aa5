-- Iterative Fibonacci modulo 1000000007 (values below 2^31: exact in doubles).
local N = tonumber(arg[1]) or 50000000

local function fibiter(n)
  local a, b = 0, 1
  for _ = 1, n do
    local t = (a + b) % 1000000007
    a = b
    b = t
  end
  return a
end

print(string.format("%.0f", fibiter(N)))

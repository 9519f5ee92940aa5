-- Float multiply-accumulate chain.
local N = tonumber(arg[1]) or 100000000

local function fma(n)
  local acc, x = 0.0, 1.0
  for _ = 1, n do
    acc = acc * 0.9999999 + x
    x = x * 1.00000001
  end
  return acc + x
end

print(string.format("%.17g", fma(N)))

-- Newton square roots of 1..N, iterating until the estimate stops decreasing.
local N = tonumber(arg[1]) or 5000000

local function newton(n)
  local total = 0.0
  for i = 1, n do
    local v = i
    local x = v
    while true do
      local y = 0.5 * (x + v / x)
      if y >= x then break end
      x = y
    end
    total = total + x
  end
  return total
end

print(string.format("%.17g", newton(N)))

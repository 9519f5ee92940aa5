-- Integration of sin(x) * exp(-0.1 x) over [0, 10) with N rectangles.
local N = tonumber(arg[1]) or 10000000
local sin, exp = math.sin, math.exp

local function integrate(n)
  local h = 10.0 / n
  local s = 0.0
  for i = 0, n - 1 do
    local x = i * h
    s = s + sin(x) * exp(-0.1 * x) * h
  end
  return s
end

print(string.format("%.17g", integrate(N)))

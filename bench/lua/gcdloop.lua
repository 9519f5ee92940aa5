-- A double loop calling a small function: the sum of gcd(i, j) over 1 <= i, j < N.
local N = tonumber(arg[1]) or 3000

local function gcd(a, b)
  while b ~= 0 do
    a, b = b, a % b
  end
  return a
end

local function main(n)
  local total = 0
  for i = 1, n - 1 do
    for j = 1, n - 1 do
      total = total + gcd(i, j)
    end
  end
  return total
end

print(string.format("%.0f", main(N)))

-- Ackermann's function, deep non-tail recursion: ack(2, i % 200) + ack(3, i % 6) for i < N.
local N = tonumber(arg[1]) or 4000

local function ack(m, n)
  if m == 0 then return n + 1 end
  if n == 0 then return ack(m - 1, 1) end
  return ack(m - 1, ack(m, n - 1))
end

local function main(n)
  local total = 0
  for i = 0, n - 1 do
    total = total + ack(2, i % 200) + ack(3, i % 6)
  end
  return total
end

print(string.format("%.0f", main(N)))

-- Sieve of Eratosthenes up to N; the checksum is the sum of the primes (below 2^53).
-- Index k of the Python list is flags[k + 1] here.
local N = tonumber(arg[1]) or 50000000

local function sieve(n)
  local flags = {}
  for k = 1, n + 1 do flags[k] = true end
  flags[1] = false
  flags[2] = false
  local i = 2
  while i * i <= n do
    if flags[i + 1] then
      for j = i * i, n, i do flags[j + 1] = false end
    end
    i = i + 1
  end
  local total = 0
  for k = 0, n do
    if flags[k + 1] then total = total + k end
  end
  return total
end

print(string.format("%.0f", sieve(N)))

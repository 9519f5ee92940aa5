-- Collatz: total steps for every start value 1..N-1 to reach 1 (values below 2^53).
local N = tonumber(arg[1]) or 1000000

local total = 0
for i = 1, N - 1 do
  local n = i
  while n ~= 1 do
    if n % 2 == 0 then
      n = n / 2
    else
      n = 3 * n + 1
    end
    total = total + 1
  end
end
print(string.format("%.0f", total))

-- Mandelbrot on an N x N grid, at most 100 iterations; the checksum is the iteration count.
local N = tonumber(arg[1]) or 1400

local total = 0
for py = 0, N - 1 do
  local ci = 2.0 * py / N - 1.0
  for px = 0, N - 1 do
    local cr = 2.5 * px / N - 2.0
    local zr, zi, k = 0.0, 0.0, 0
    while k < 100 do
      local zr2, zi2 = zr * zr, zi * zi
      if zr2 + zi2 > 4.0 then break end
      zi = 2.0 * zr * zi + ci
      zr = zr2 - zi2 + cr
      k = k + 1
    end
    total = total + k
  end
end
print(string.format("%.0f", total))

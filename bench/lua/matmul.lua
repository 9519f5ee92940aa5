-- N x N double matrix multiply with B transposed; the checksum is the sum of all entries.
-- Index i of a Python list is [i + 1] here.
local N = tonumber(arg[1]) or 600

local function make_matrix(n, seed)
  local tmp = 1.0 / n / n
  local m = {}
  for i = 0, n - 1 do
    local row = {}
    for j = 0, n - 1 do row[j + 1] = tmp * (i - j + seed) * (i + j) end
    m[i + 1] = row
  end
  return m
end

local function matmul(a, b, n)
  local bt = {}
  for j = 1, n do
    local col = {}
    for k = 1, n do col[k] = b[k][j] end
    bt[j] = col
  end
  local c = {}
  for i = 1, n do
    local ai = a[i]
    local row = {}
    for j = 1, n do
      local bj = bt[j]
      local s = 0.0
      for k = 1, n do s = s + ai[k] * bj[k] end
      row[j] = s
    end
    c[i] = row
  end
  return c
end

local function checksum(c, n)
  local total = 0.0
  for i = 1, n do
    local ci = c[i]
    for j = 1, n do total = total + ci[j] end
  end
  return total
end

print(string.format("%.17g", checksum(matmul(make_matrix(N, 0), make_matrix(N, 1), N), N)))

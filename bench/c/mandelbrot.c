/* Mandelbrot on an N x N grid, at most 100 iterations; the checksum is the iteration count. */
#include "bench.h"

int main(int argc, char **argv) {
    int64_t n = bench_size(argc, argv, 1400);
    int64_t total = 0;
    for (int64_t py = 0; py < n; py++) {
        double ci = 2.0 * (double)py / (double)n - 1.0;
        for (int64_t px = 0; px < n; px++) {
            double cr = 2.5 * (double)px / (double)n - 2.0;
            double zr = 0.0, zi = 0.0;
            int64_t k = 0;
            while (k < 100) {
                double zr2 = zr * zr, zi2 = zi * zi;
                if (zr2 + zi2 > 4.0) break;
                zi = 2.0 * zr * zi + ci;
                zr = zr2 - zi2 + cr;
                k++;
            }
            total += k;
        }
    }
    print_int(total);
    return 0;
}

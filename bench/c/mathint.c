/* Integration of sin(x) * exp(-0.1 x) over [0, 10) with N rectangles (the platform libm, as CPython). */
#include <math.h>
#include "bench.h"

int main(int argc, char **argv) {
    int64_t n = bench_size(argc, argv, 10000000);
    double h = 10.0 / (double)n, s = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double x = (double)i * h;
        s += sin(x) * exp(-0.1 * x) * h;
    }
    print_double(s);
    return 0;
}

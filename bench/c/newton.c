/* Newton square roots of 1..N, iterating until the estimate stops decreasing. */
#include "bench.h"

static double newton(int64_t n) {
    double total = 0.0;
    for (int64_t i = 1; i <= n; i++) {
        double v = (double)i, x = v;
        for (;;) {
            double y = 0.5 * (x + v / x);
            if (y >= x) break;
            x = y;
        }
        total = total + x;
    }
    return total;
}

int main(int argc, char **argv) {
    print_double(newton(bench_size(argc, argv, 5000000)));
    return 0;
}

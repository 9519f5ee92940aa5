/* Float multiply-accumulate chain (built with -ffp-contract=off: no fused multiply-add). */
#include "bench.h"

static double fma_kernel(int64_t n) {
    double acc = 0.0, x = 1.0;
    for (int64_t i = 0; i < n; i++) {
        acc = acc * 0.9999999 + x;
        x = x * 1.00000001;
    }
    return acc + x;
}

int main(int argc, char **argv) {
    print_double(fma_kernel(bench_size(argc, argv, 100000000)));
    return 0;
}

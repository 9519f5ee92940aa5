/* Headline: the sum of N integers from a 16-bit LCG (each term depends on the previous one). */
#include "bench.h"

int main(int argc, char **argv) {
    int64_t n = bench_size(argc, argv, 1000000);
    int64_t x = 1, total = 0;
    for (int64_t i = 0; i < n; i++) {
        x = (x * 5 + 1) & 65535;
        total = total + x;
    }
    print_int(total);
    return 0;
}

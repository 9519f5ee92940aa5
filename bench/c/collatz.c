/* Collatz: total steps for every start value 1..N-1 to reach 1. */
#include "bench.h"

int main(int argc, char **argv) {
    int64_t n = bench_size(argc, argv, 1000000);
    int64_t total = 0;
    for (int64_t i = 1; i < n; i++) {
        int64_t v = i;
        while (v != 1) {
            if (v % 2 == 0) v = v / 2;
            else v = 3 * v + 1;
            total += 1;
        }
    }
    print_int(total);
    return 0;
}

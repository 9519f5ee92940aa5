/* Iterative Fibonacci modulo 1000000007 (all values non-negative: C % agrees with Python's). */
#include "bench.h"

static int64_t fibiter(int64_t n) {
    int64_t a = 0, b = 1;
    for (int64_t i = 0; i < n; i++) {
        int64_t t = (a + b) % 1000000007;
        a = b;
        b = t;
    }
    return a;
}

int main(int argc, char **argv) {
    print_int(fibiter(bench_size(argc, argv, 50000000)));
    return 0;
}

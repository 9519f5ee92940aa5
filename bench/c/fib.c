/* Headline: recursive Fibonacci. */
#include "bench.h"

static int64_t fib(int64_t n) {
    if (n < 2) return n;
    return fib(n - 1) + fib(n - 2);
}

int main(int argc, char **argv) {
    print_int(fib(bench_size(argc, argv, 35)));
    return 0;
}

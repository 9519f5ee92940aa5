/* A double loop calling a small function: the sum of gcd(i, j) over 1 <= i, j < N. */
#include "bench.h"

static int64_t gcd(int64_t a, int64_t b) {
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

int main(int argc, char **argv) {
    int64_t n = bench_size(argc, argv, 3000), total = 0;
    for (int64_t i = 1; i < n; i++)
        for (int64_t j = 1; j < n; j++) total += gcd(i, j);
    print_int(total);
    return 0;
}

/* Ackermann's function, deep non-tail recursion: ack(2, i % 200) + ack(3, i % 6) for i < N. */
#include "bench.h"

static int64_t ack(int64_t m, int64_t n) {
    if (m == 0) return n + 1;
    if (n == 0) return ack(m - 1, 1);
    return ack(m - 1, ack(m, n - 1));
}

int main(int argc, char **argv) {
    int64_t n = bench_size(argc, argv, 4000), total = 0;
    for (int64_t i = 0; i < n; i++) total += ack(2, i % 200) + ack(3, i % 6);
    print_int(total);
    return 0;
}

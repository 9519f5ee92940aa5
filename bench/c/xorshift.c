/* xorshift32; the checksum is the sum of the outputs modulo 2**48. */
#include "bench.h"

int main(int argc, char **argv) {
    int64_t n = bench_size(argc, argv, 100000000);
    uint32_t x = 2463534242u;
    int64_t total = 0;
    for (int64_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        total = (total + (int64_t)x) & 281474976710655LL;
    }
    print_int(total);
    return 0;
}

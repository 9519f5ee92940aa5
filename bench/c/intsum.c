/* Integer sum with a loop-carried dependency: total += (i ^ total) & 0xFFFF. */
#include "bench.h"

static int64_t intsum(int64_t n) {
    int64_t total = 0;
    for (int64_t i = 0; i < n; i++) total = total + ((i ^ total) & 65535);
    return total;
}

int main(int argc, char **argv) {
    print_int(intsum(bench_size(argc, argv, 200000000)));
    return 0;
}

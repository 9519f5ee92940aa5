/* Sieve of Eratosthenes up to N; the checksum is the sum of the primes. */
#include <string.h>
#include "bench.h"

static int64_t sieve(int64_t n) {
    unsigned char *flags = malloc((size_t)n + 1);
    if (!flags) { perror("malloc"); exit(1); }
    memset(flags, 1, (size_t)n + 1);
    flags[0] = 0;
    flags[1] = 0;
    for (int64_t i = 2; i * i <= n; i++) {
        if (flags[i]) {
            for (int64_t j = i * i; j <= n; j += i) flags[j] = 0;
        }
    }
    int64_t total = 0;
    for (int64_t k = 0; k <= n; k++)
        if (flags[k]) total += k;
    free(flags);
    return total;
}

int main(int argc, char **argv) {
    print_int(sieve(bench_size(argc, argv, 50000000)));
    return 0;
}

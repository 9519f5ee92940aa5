/* Shared helpers for the C kernels: the size from argv[1] and Python-style output. */
#ifndef BENCH_H
#define BENCH_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static inline int64_t bench_size(int argc, char **argv, int64_t dflt) {
    return argc > 1 ? strtoll(argv[1], NULL, 10) : dflt;
}

/* %.17g round-trips every double; the harness compares floats by value, not text. */
static inline void print_double(double v) { printf("%.17g\n", v); }
static inline void print_int(int64_t v) { printf("%lld\n", (long long)v); }

#endif

/* N x N double matrix multiply with B transposed; the checksum is the sum of all entries. */
#include "bench.h"

static double *make_matrix(int64_t n, int64_t seed) {
    double tmp = 1.0 / (double)n / (double)n;
    double *m = malloc(sizeof(double) * (size_t)(n * n));
    if (!m) { perror("malloc"); exit(1); }
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++)
            m[i * n + j] = tmp * (double)(i - j + seed) * (double)(i + j);
    return m;
}

int main(int argc, char **argv) {
    int64_t n = bench_size(argc, argv, 600);
    double *a = make_matrix(n, 0), *b = make_matrix(n, 1);
    double *bt = malloc(sizeof(double) * (size_t)(n * n));
    double *c = malloc(sizeof(double) * (size_t)(n * n));
    if (!bt || !c) { perror("malloc"); exit(1); }
    for (int64_t j = 0; j < n; j++)
        for (int64_t k = 0; k < n; k++) bt[j * n + k] = b[k * n + j];
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) {
            double s = 0.0;
            for (int64_t k = 0; k < n; k++) s += a[i * n + k] * bt[j * n + k];
            c[i * n + j] = s;
        }
    double total = 0.0;
    for (int64_t i = 0; i < n * n; i++) total += c[i];
    print_double(total);
    free(a); free(b); free(bt); free(c);
    return 0;
}

/* FP kernel: dense matrix multiply, double (i-k-j loop order, vectorisable
 * by the compiler) and float (blocked), plus a naive dot-product-order pass. */
#include "bench.h"

int main(int argc, char **argv) {
    long reps = bench_scale(argc, argv, 2);
    int n = 256;
    double *a = malloc(sizeof(double) * n * n), *b = malloc(sizeof(double) * n * n), *c = malloc(sizeof(double) * n * n);
    float *fa = malloc(sizeof(float) * n * n), *fb = malloc(sizeof(float) * n * n), *fc = malloc(sizeof(float) * n * n);
    uint64_t s = 7;
    for (int i = 0; i < n * n; i++) {
        a[i] = (double)(xorshift64(&s) % 2001) / 1000.0 - 1.0;
        b[i] = (double)(xorshift64(&s) % 2001) / 1000.0 - 1.0;
        fa[i] = (float)a[i]; fb[i] = (float)b[i];
    }
    uint64_t sum = 0;
    for (long r = 0; r < reps; r++) {
        for (int i = 0; i < n * n; i++) c[i] = 0;
        for (int i = 0; i < n; i++)
            for (int k = 0; k < n; k++) {
                double aik = a[i * n + k];
                for (int j = 0; j < n; j++) c[i * n + j] += aik * b[k * n + j];
            }
        for (int i = 0; i < n * n; i += 61) sum = mix64(sum, dbits(c[i]));
        a[r % (n * n)] += 0.5;

        for (int i = 0; i < n * n; i++) fc[i] = 0;
        const int B = 32;
        for (int ii = 0; ii < n; ii += B)
            for (int kk = 0; kk < n; kk += B)
                for (int jj = 0; jj < n; jj += B)
                    for (int i = ii; i < ii + B; i++)
                        for (int k = kk; k < kk + B; k++) {
                            float aik = fa[i * n + k];
                            for (int j = jj; j < jj + B; j++) fc[i * n + j] += aik * fb[k * n + j];
                        }
        for (int i = 0; i < n * n; i += 61) sum = mix64(sum, (uint64_t)dbits((double)fc[i]));
    }
    /* Naive i-j-k order: a strided column walk and a scalar reduction. */
    int m = 160;
    double t = 0;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < m; j++) {
            double acc = 0;
            for (int k = 0; k < m; k++) acc += a[i * n + k] * b[k * n + j];
            t += acc * (double)((i ^ j) & 7);
        }
    sum = mix64(sum, dbits(t));
    printf("fp_matmul checksum=%016llx trace=%.6f\n", (unsigned long long)sum, t);
    return 0;
}

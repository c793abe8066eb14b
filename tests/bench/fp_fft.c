/* FP kernel: iterative radix-2 complex FFT (2^16 points), forward and inverse,
 * repeated. Twiddle factors come from a Taylor-series sine/cosine (no libm), so
 * arm64 and x86-64 results are bit-identical. */
#include "bench.h"

static const double PI = 3.14159265358979323846;

/* sin/cos for |x| <= pi/4 by Taylor series, extended by symmetry. */
static double tsin(double x) { double x2 = x * x, t = x, s = x; for (int k = 1; k < 12; k++) { t = -t * x2 / ((2 * k) * (2 * k + 1)); s += t; } return s; }
static double tcos(double x) { double x2 = x * x, t = 1, s = 1; for (int k = 1; k < 12; k++) { t = -t * x2 / ((2 * k - 1) * (2 * k)); s += t; } return s; }
static void sincos_(double x, double *sn, double *cs) {
    /* x in [0, 2pi): reduce to octant */
    int q = (int)(x / (PI / 2));
    double r = x - q * (PI / 2), s, c;
    if (r > PI / 4) { s = tcos(PI / 2 - r); c = tsin(PI / 2 - r); } else { s = tsin(r); c = tcos(r); }
    switch (q & 3) {
    case 0: *sn = s; *cs = c; break;
    case 1: *sn = c; *cs = -s; break;
    case 2: *sn = -s; *cs = -c; break;
    default: *sn = -c; *cs = s; break;
    }
}

static void fft(double *re, double *im, const double *wr, const double *wi, int n, int inverse) {
    for (int i = 1, j = 0; i < n; i++) {
        int bit = n >> 1;
        for (; j & bit; bit >>= 1) j ^= bit;
        j ^= bit;
        if (i < j) { double t = re[i]; re[i] = re[j]; re[j] = t; t = im[i]; im[i] = im[j]; im[j] = t; }
    }
    for (int len = 2; len <= n; len <<= 1) {
        int step = n / len;
        for (int i = 0; i < n; i += len)
            for (int k = 0; k < len / 2; k++) {
                double cr = wr[k * step], ci = inverse ? -wi[k * step] : wi[k * step];
                int a = i + k, b = i + k + len / 2;
                double xr = re[b] * cr - im[b] * ci, xi = re[b] * ci + im[b] * cr;
                re[b] = re[a] - xr; im[b] = im[a] - xi;
                re[a] += xr; im[a] += xi;
            }
    }
    if (inverse) for (int i = 0; i < n; i++) { re[i] /= n; im[i] /= n; }
}

int main(int argc, char **argv) {
    long reps = bench_scale(argc, argv, 20);
    int n = 1 << 16;
    double *re = malloc(n * sizeof(double)), *im = malloc(n * sizeof(double));
    double *wr = malloc(n / 2 * sizeof(double)), *wi = malloc(n / 2 * sizeof(double));
    for (int k = 0; k < n / 2; k++) sincos_(2 * PI * k / n, &wi[k], &wr[k]);
    for (int k = 0; k < n / 2; k++) wi[k] = -wi[k];
    uint64_t s = 99, sum = 0;
    for (int i = 0; i < n; i++) { re[i] = (double)(xorshift64(&s) % 10000) / 100.0; im[i] = 0; }
    double err = 0;
    for (long r = 0; r < reps; r++) {
        fft(re, im, wr, wi, n, 0);
        sum = mix64(sum, dbits(re[r % n]));
        sum = mix64(sum, dbits(im[(r * 31) % n]));
        fft(re, im, wr, wi, n, 1);
        re[r % n] += 1.0;
    }
    for (int i = 0; i < n; i++) err += im[i] < 0 ? -im[i] : im[i];
    sum = mix64(sum, dbits(err));
    printf("fp_fft checksum=%016llx residual=%.3e\n", (unsigned long long)sum, err);
    return 0;
}

/* Integer kernel: sorting. Hand-written quicksort (insertion sort below 16),
 * libc qsort() with a comparator (indirect calls), and a bottom-up merge sort. */
#include "bench.h"
#include <string.h>

static void isort(uint32_t *a, long n) {
    for (long i = 1; i < n; i++) {
        uint32_t v = a[i]; long j = i - 1;
        while (j >= 0 && a[j] > v) { a[j + 1] = a[j]; j--; }
        a[j + 1] = v;
    }
}

static void quicksort(uint32_t *a, long n) {
    while (n > 16) {
        uint32_t x = a[0], y = a[n / 2], z = a[n - 1];
        uint32_t p = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
        long i = 0, j = n - 1;
        for (;;) {
            while (a[i] < p) i++;
            while (a[j] > p) j--;
            if (i >= j) break;
            uint32_t t = a[i]; a[i] = a[j]; a[j] = t;
            i++; j--;
        }
        if (j + 1 < n - j - 1) { quicksort(a, j + 1); a += j + 1; n -= j + 1; }
        else { quicksort(a + j + 1, n - j - 1); n = j + 1; }
    }
    isort(a, n);
}

static int cmp64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void mergesort64(uint64_t *a, uint64_t *tmp, long n) {
    for (long w = 1; w < n; w *= 2) {
        for (long lo = 0; lo < n; lo += 2 * w) {
            long mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            long i = lo, j = mid, k = lo;
            while (i < mid && j < hi) tmp[k++] = a[i] <= a[j] ? a[i++] : a[j++];
            while (i < mid) tmp[k++] = a[i++];
            while (j < hi) tmp[k++] = a[j++];
        }
        memcpy(a, tmp, n * sizeof *a);
    }
}

int main(int argc, char **argv) {
    long n = bench_scale(argc, argv, 1000000);
    uint64_t s = 0x2545F4914F6CDD1DULL, sum = 0;
    uint32_t *a = malloc(n * sizeof *a);
    for (long r = 0; r < 2; r++) {
        for (long i = 0; i < n; i++) a[i] = (uint32_t)(xorshift64(&s) >> 32);
        quicksort(a, n);
        for (long i = 1; i < n; i++) if (a[i - 1] > a[i]) { puts("int_sort: quicksort broken"); return 1; }
        for (long i = 0; i < n; i += 97) sum = mix64(sum, a[i]);
    }
    long m = n / 2;
    uint64_t *b = malloc(m * sizeof *b), *t = malloc(m * sizeof *t);
    for (long i = 0; i < m; i++) b[i] = xorshift64(&s) % 1000003;
    qsort(b, m, sizeof *b, cmp64);
    for (long i = 0; i < m; i += 31) sum = mix64(sum, b[i] * (i + 1));
    for (long i = 0; i < m; i++) b[i] = xorshift64(&s);
    mergesort64(b, t, m);
    for (long i = 1; i < m; i++) if (b[i - 1] > b[i]) { puts("int_sort: mergesort broken"); return 1; }
    for (long i = 0; i < m; i += 31) sum = mix64(sum, b[i]);
    printf("int_sort checksum=%016llx\n", (unsigned long long)sum);
    return 0;
}

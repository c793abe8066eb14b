/* tests/bench/bench.h — shared helpers for the benchmark kernels (scripts/bench).
 *
 * Every kernel takes one optional argument, a scale factor in percent of the
 * default work (scripts/bench --quick passes a small one), and prints one line
 * `name checksum=...` so the harness can check that native x86-64, qemu and
 * ferrite computed the same thing. Kernels use only integer arithmetic and
 * IEEE + - * / sqrt (no libm transcendental functions) and are built with
 * -ffp-contract=off, so the arm64 and x86-64 results are bit-identical. */
#ifndef BENCH_H
#define BENCH_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static inline uint64_t xorshift64(uint64_t *s) {
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* Work scale: argv[1] in percent of the default size (default 100). */
static inline long bench_scale(int argc, char **argv, long full) {
    long pct = 100;
    if (argc > 1) pct = atol(argv[1]);
    if (pct < 1) pct = 1;
    long n = full * pct / 100;
    return n < 1 ? 1 : n;
}

static inline uint64_t mix64(uint64_t h, uint64_t v) {
    h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return h;
}

/* Fold a double into a checksum through its bit pattern. */
static inline uint64_t dbits(double d) {
    union { double d; uint64_t u; } x = { d };
    return x.u;
}
#endif

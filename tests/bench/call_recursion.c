/* Call-heavy kernel: deep and wide recursion (fib, Ackermann, Takeuchi) and
 * indirect calls through a function-pointer table: stresses bl/ret (return
 * prediction) and blr. */
#include "bench.h"

#define NOINLINE __attribute__((noinline))

NOINLINE static long fib(long n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

NOINLINE static long ack(long m, long n) {
    if (m == 0) return n + 1;
    if (n == 0) return ack(m - 1, 1);
    return ack(m - 1, ack(m, n - 1));
}

NOINLINE static long tak(long x, long y, long z) {
    if (y >= x) return z;
    return tak(tak(x - 1, y, z), tak(y - 1, z, x), tak(z - 1, x, y));
}

typedef uint64_t (*op_fn)(uint64_t, uint64_t);
NOINLINE static uint64_t op_add(uint64_t a, uint64_t b) { return a + b; }
NOINLINE static uint64_t op_xor(uint64_t a, uint64_t b) { return a ^ (b << 1); }
NOINLINE static uint64_t op_mul(uint64_t a, uint64_t b) { return a * (b | 1); }
NOINLINE static uint64_t op_rot(uint64_t a, uint64_t b) { return (a << (b & 31)) | (a >> (64 - (b & 31) - 1) >> 1); }
static op_fn ops[4] = { op_add, op_xor, op_mul, op_rot };

int main(int argc, char **argv) {
    long scale = bench_scale(argc, argv, 100);
    uint64_t sum = 0;
    long fn = scale >= 100 ? 30 : scale >= 25 ? 27 : 22;
    sum = mix64(sum, fib(fn));
    long an = scale >= 100 ? 9 : scale >= 25 ? 7 : 5;
    for (int r = 0; r < 3; r++) sum = mix64(sum, ack(3, an));
    long tx = scale >= 100 ? 22 : scale >= 25 ? 20 : 16;
    sum = mix64(sum, tak(tx, 14, 6));
    uint64_t s = 42, acc = 1;
    long calls = 4000000 * scale / 100;
    for (long i = 0; i < calls; i++) acc = ops[xorshift64(&s) & 3](acc, i);
    sum = mix64(sum, acc);
    printf("call_recursion checksum=%016llx fib(%ld)=%ld\n", (unsigned long long)sum, fn, fib(fn));
    return 0;
}

/* vector.c — integer SIMD: GCC vector extensions (mapped to NEON on arm64,
 * SSE on x86-64) and loops the compiler auto-vectorises at -O3 (this program
 * is built with -O3 as well as -O2; see the Makefile). Semantics are fixed by
 * the C code, so results must be identical. Integer only.
 * Exit status: number of failed checks.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef uint8_t u8x16 __attribute__((vector_size(16)));
typedef int8_t i8x16 __attribute__((vector_size(16)));
typedef uint16_t u16x8 __attribute__((vector_size(16)));
typedef int16_t i16x8 __attribute__((vector_size(16)));
typedef uint32_t u32x4 __attribute__((vector_size(16)));
typedef int32_t i32x4 __attribute__((vector_size(16)));
typedef uint64_t u64x2 __attribute__((vector_size(16)));
typedef int64_t i64x2 __attribute__((vector_size(16)));

#include "check.h"

static uint64_t h = 0;
static void mixv(const void *v, size_t n)
{
    const unsigned char *p = v;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
}
#define MIX(v) mixv(&(v), sizeof(v))

static uint64_t rng = 0x853c49e6748fea9bULL;
static uint64_t rnd(void)
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return rng >> 11 ^ rng << 7;
}

static void fill(void *p, size_t n)
{
    unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        c[i] = (unsigned char)(rnd() >> 24);
}

static void test_vector_ext(void)
{
    for (int iter = 0; iter < 500; iter++) {
        u8x16 a8, b8;
        i8x16 s8;
        u16x8 a16, b16;
        i16x8 s16, t16;
        u32x4 a32, b32;
        i32x4 s32, t32;
        u64x2 a64, b64;
        i64x2 s64;
        fill(&a8, 16); fill(&b8, 16); fill(&s8, 16);
        fill(&a16, 16); fill(&b16, 16); fill(&s16, 16); fill(&t16, 16);
        fill(&a32, 16); fill(&b32, 16); fill(&s32, 16); fill(&t32, 16);
        fill(&a64, 16); fill(&b64, 16); fill(&s64, 16);
        u8x16 r8 = a8 + b8; MIX(r8);
        r8 = a8 - b8; MIX(r8);
        r8 = a8 * b8; MIX(r8);
        r8 = a8 & ~b8; MIX(r8);
        r8 = a8 ^ b8; MIX(r8);
        r8 = a8 >> (b8 & 7); MIX(r8);
        r8 = a8 << 3; MIX(r8);
        i8x16 c8 = (i8x16)(a8 > b8); MIX(c8);
        c8 = s8 < (i8x16)b8; MIX(c8);
        c8 = s8 >> 2; MIX(c8);
        c8 = s8 == (i8x16)a8; MIX(c8);
        u16x8 r16 = a16 * b16 + (a16 >> 3); MIX(r16);
        i16x8 q16 = s16 >> (i16x8)(b16 & 15); MIX(q16);
        q16 = s16 / ((t16 & 0x7ff) | 2); MIX(q16); /* positive divisor: no MIN/-1 */
        q16 = s16 % ((t16 & 0x7ff) | 2); MIX(q16);
        i16x8 sel16 = s16 > t16; /* lanes of all-ones or zero */
        q16 = (s16 & sel16) | (t16 & ~sel16); MIX(q16);
        u32x4 r32 = a32 * b32 - (a32 << 5); MIX(r32);
        r32 = a32 / (b32 | 1); MIX(r32);
        r32 = a32 % (b32 | 1); MIX(r32);
        i32x4 q32 = s32 >> 31; MIX(q32);
        i32x4 sel32 = s32 < t32;
        q32 = (s32 & sel32) | (t32 & ~sel32); MIX(q32);
        q32 = (i32x4)(-(u32x4)s32); MIX(q32);
        u64x2 r64 = a64 * b64 + (a64 >> 17); MIX(r64);
        r64 = a64 ^ (b64 << 9); MIX(r64);
        i64x2 q64 = s64 >> 63; MIX(q64);
        q64 = (i64x2)(a64 > b64); MIX(q64);
        /* shuffles */
        u8x16 mask8 = {15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0};
        r8 = __builtin_shuffle(a8, mask8); MIX(r8);
        u8x16 mask2;
        fill(&mask2, 16);
        r8 = __builtin_shuffle(a8, b8, mask2 & 31); MIX(r8);
        u32x4 m32 = {3, 0, 2, 1};
        r32 = __builtin_shuffle(a32, m32); MIX(r32);
        /* conversions between element widths */
        u16x8 w16 = __builtin_convertvector(s16, u16x8); MIX(w16);
        i32x4 w32 = __builtin_convertvector((u32x4){a32[0] & 0xffff, a32[1], a32[2] >> 1, 7}, i32x4); MIX(w32);
    }
    printf("vector ext hash=%016llx\n", (unsigned long long)h);
    u32x4 k = {1, 2, 3, 4};
    k = k * k + (u32x4){10, 20, 30, 40};
    printf("k = %u %u %u %u\n", k[0], k[1], k[2], k[3]);
    CHECK(k[3] == 56);
}

#define N 4099
static uint8_t A8[N], B8[N], C8[N];
static int16_t A16[N], B16[N];
static int32_t A32[N], B32[N], C32[N];
static uint64_t A64[N], B64[N];

static __attribute__((noinline)) void autovec_kernels(void)
{
    fill(A8, N); fill(B8, N); fill(A16, sizeof A16); fill(B16, sizeof B16);
    fill(A32, sizeof A32); fill(B32, sizeof B32); fill(A64, sizeof A64); fill(B64, sizeof B64);
    uint64_t acc = 0;
    /* saturating add, average, abs diff, min/max */
    for (int i = 0; i < N; i++) {
        unsigned s = (unsigned)A8[i] + B8[i];
        C8[i] = (uint8_t)(s > 255 ? 255 : s);
    }
    mixv(C8, N);
    for (int i = 0; i < N; i++)
        C8[i] = (uint8_t)(((unsigned)A8[i] + B8[i] + 1) >> 1);
    mixv(C8, N);
    for (int i = 0; i < N; i++)
        C8[i] = (uint8_t)(A8[i] > B8[i] ? A8[i] - B8[i] : B8[i] - A8[i]);
    mixv(C8, N);
    int32_t mn = INT32_MAX, mx = INT32_MIN;
    for (int i = 0; i < N; i++) {
        mn = A32[i] < mn ? A32[i] : mn;
        mx = A32[i] > mx ? A32[i] : mx;
    }
    acc = acc * 31 + (uint32_t)mn;
    acc = acc * 31 + (uint32_t)mx;
    /* widening multiply-accumulate (dot product) */
    int64_t dot = 0;
    for (int i = 0; i < N; i++)
        dot += (int32_t)A16[i] * B16[i];
    acc = acc * 31 + (uint64_t)dot;
    /* byte sum */
    uint32_t bsum = 0;
    for (int i = 0; i < N; i++)
        bsum += A8[i];
    acc = acc * 31 + bsum;
    /* 32-bit elementwise with a conditional */
    for (int i = 0; i < N; i++)
        C32[i] = A32[i] > B32[i] ? (int32_t)((uint32_t)A32[i] - (uint32_t)B32[i]) : (B32[i] >> 3);
    mixv(C32, sizeof C32);
    /* 64-bit ops */
    uint64_t x = 0;
    for (int i = 0; i < N; i++)
        x ^= (A64[i] >> 7) + (B64[i] << 3);
    acc = acc * 31 + x;
    /* narrowing */
    for (int i = 0; i < N; i++)
        C8[i] = (uint8_t)(A16[i] >> 4);
    mixv(C8, N);
    /* reverse and interleave */
    for (int i = 0; i < N; i++)
        C32[i] = A32[N - 1 - i];
    mixv(C32, sizeof C32);
    for (int i = 0; i + 1 < N; i += 2) {
        C32[i] = A32[i / 2];
        C32[i + 1] = B32[i / 2];
    }
    mixv(C32, sizeof C32);
    /* popcount of bytes, counting matches */
    unsigned pc = 0, matches = 0;
    for (int i = 0; i < N; i++) {
        pc += (unsigned)__builtin_popcount(A8[i]);
        matches += A8[i] == B8[i];
    }
    acc = acc * 31 + pc;
    acc = acc * 31 + matches;
    mixv(&acc, sizeof acc);
    printf("autovec acc=%016llx hash=%016llx\n", (unsigned long long)acc, (unsigned long long)h);
}

int main(void)
{
    test_vector_ext();
    autovec_kernels();
    printf("vector: %s (%d failures)\n", failures ? "FAIL" : "ok", failures);
    return failures;
}

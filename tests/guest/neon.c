/* neon.c — Advanced SIMD and crypto through the ACLE intrinsics (<arm_neon.h>,
 * <arm_acle.h>): a float matrix multiply, integer and saturating lane
 * operations, permutes, AES-128 (AESE/AESMC, AESD/AESIMC), SHA-256
 * (SHA256H/H2/SU0/SU1), PMULL and CRC32/CRC32C.
 *
 * On arm64 every result comes from the intrinsics; on x86-64 (the oracle
 * build) from plain C written from the definitions, so the two outputs must be
 * identical. Published known answers (FIPS-197 C.1, FIPS 180-2 "abc", the
 * CRC-32 and CRC-32C check values of "123456789") are checked as well.
 * Exit status: number of failed checks.
 */
#ifdef __aarch64__
#pragma GCC target("+crypto+crc")
#include <arm_acle.h>
#include <arm_neon.h>
#endif
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

static uint64_t rng = 0x243f6a8885a308d3ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void hex(const char *what, const void *p, size_t n)
{
    const uint8_t *b = p;
    printf("%s ", what);
    for (size_t i = 0; i < n; i++)
        printf("%02x", b[i]);
    printf("\n");
}

/* ---- matrix multiply (float, 8x8, rows of 4-lane vectors) --------------- */

#define N 8
static void matmul(const float *a, const float *b, float *c)
{
#ifdef __aarch64__
    for (int i = 0; i < N; i++) {
        float32x4_t lo = vdupq_n_f32(0), hi = vdupq_n_f32(0);
        for (int k = 0; k < N; k++) {
            float32x4_t s = vdupq_n_f32(a[i * N + k]);
            /* separate multiply and add: the C reference is not fused */
            lo = vaddq_f32(lo, vmulq_f32(s, vld1q_f32(&b[k * N])));
            hi = vaddq_f32(hi, vmulq_f32(s, vld1q_f32(&b[k * N + 4])));
        }
        vst1q_f32(&c[i * N], lo);
        vst1q_f32(&c[i * N + 4], hi);
    }
#else
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            float acc = 0;
            for (int k = 0; k < N; k++)
                acc = acc + a[i * N + k] * b[k * N + j];
            c[i * N + j] = acc;
        }
#endif
}

static void test_matmul(void)
{
    float a[N * N], b[N * N], c[N * N];
    for (int i = 0; i < N * N; i++) {
        a[i] = (float)((int)(next() % 2001) - 1000) / 37.0f;
        b[i] = (float)((int)(next() % 2001) - 1000) / 53.0f;
    }
    matmul(a, b, c);
    hex("matmul", c, sizeof c);
    /* identity check */
    float id[N * N] = {0}, d[N * N];
    for (int i = 0; i < N; i++)
        id[i * N + i] = 1.0f;
    matmul(a, id, d);
    CHECK(memcmp(a, d, sizeof a) == 0);
}

/* ---- integer and saturating lanes ---------------------------------------- */

#ifndef __aarch64__ /* references for the oracle build */
static int8_t sat8(int v) { return v > 127 ? 127 : v < -128 ? -128 : v; }
static int16_t sat16(int64_t v) { return v > 32767 ? 32767 : v < -32768 ? -32768 : v; }
static int32_t satf32(float f)
{
    if (isnan(f))
        return 0;
    if (f >= 2147483648.0f)
        return INT32_MAX;
    if (f <= -2147483648.0f)
        return INT32_MIN;
    return (int32_t)f; /* truncation, like FCVTZS */
}
#endif

static void test_lanes(void)
{
    int8_t a8[16], b8[16], r8[16];
    uint8_t u8a[16], u8b[16], ur8[16];
    int16_t a16[8], b16[8], r16[8];
    int32_t a32[4], r32[4];
    uint16_t u16[8], pr16[8];
    uint32_t u32[4], sum;
    float f32[4];
    int32_t cv[4];
    for (int i = 0; i < 16; i++) {
        a8[i] = (int8_t)next();
        b8[i] = (int8_t)next();
        u8a[i] = (uint8_t)next();
        u8b[i] = (uint8_t)next();
    }
    for (int i = 0; i < 8; i++) {
        a16[i] = (int16_t)next();
        b16[i] = (int16_t)next();
        u16[i] = (uint16_t)next();
    }
    a16[0] = INT16_MIN;
    b16[0] = INT16_MIN; /* the one case SQRDMULH saturates */
    for (int i = 0; i < 4; i++) {
        a32[i] = (int32_t)next();
        u32[i] = (uint32_t)next();
    }
    const float fin[4] = {1e10f, -3.75f, NAN, -1e10f};
    memcpy(f32, fin, sizeof f32);
#ifdef __aarch64__
    vst1q_s8(r8, vqaddq_s8(vld1q_s8(a8), vld1q_s8(b8)));
    hex("sqadd8", r8, 16);
    vst1q_u8(ur8, vqsubq_u8(vld1q_u8(u8a), vld1q_u8(u8b)));
    hex("uqsub8", ur8, 16);
    vst1q_s16(r16, vqrdmulhq_s16(vld1q_s16(a16), vld1q_s16(b16)));
    hex("sqrdmulh16", r16, 16);
    vst1q_s32(r32, vrshrq_n_s32(vld1q_s32(a32), 7));
    hex("srshr32", r32, 16);
    vst1q_u16(pr16, vpaddq_u16(vld1q_u16(u16), vld1q_u16(u16)));
    hex("addp16", pr16, 16);
    sum = vaddvq_u32(vld1q_u32(u32));
    printf("addv32 %08x\n", sum);
    vst1q_u8(ur8, vcntq_u8(vld1q_u8(u8a)));
    hex("cnt8", ur8, 16);
    vst1q_u8(ur8, vrev64q_u8(vld1q_u8(u8a)));
    hex("rev64", ur8, 16);
    uint8_t idx[16];
    for (int i = 0; i < 16; i++)
        idx[i] = (uint8_t)(next() % 20); /* 16..19 select 0 */
    vst1q_u8(ur8, vqtbl1q_u8(vld1q_u8(u8a), vld1q_u8(idx)));
    hex("tbl", ur8, 16);
    vst1q_u8(ur8, vzip1q_u8(vld1q_u8(u8a), vld1q_u8(u8b)));
    hex("zip1", ur8, 16);
    vst1q_u8(ur8, vuzp2q_u8(vld1q_u8(u8a), vld1q_u8(u8b)));
    hex("uzp2", ur8, 16);
    vst1q_u8(ur8, vextq_u8(vld1q_u8(u8a), vld1q_u8(u8b), 5));
    hex("ext5", ur8, 16);
    vst1q_s32(cv, vcvtq_s32_f32(vld1q_f32(f32)));
    hex("fcvtzs", cv, 16);
    vst1q_f32(f32, vrndnq_f32(vld1q_f32((const float[]){2.5f, -3.5f, 0.49999997f, -0.0f})));
    hex("frintn", f32, 16);
    float32x4_t m = vmaxq_f32(vld1q_f32((const float[]){1, -0.0f, 3, 4}),
                              vld1q_f32((const float[]){2, 0.0f, -3, 4}));
    vst1q_f32(f32, m);
    hex("fmax", f32, 16);
#else
    for (int i = 0; i < 16; i++)
        r8[i] = sat8(a8[i] + b8[i]);
    hex("sqadd8", r8, 16);
    for (int i = 0; i < 16; i++)
        ur8[i] = u8a[i] > u8b[i] ? u8a[i] - u8b[i] : 0;
    hex("uqsub8", ur8, 16);
    for (int i = 0; i < 8; i++)
        r16[i] = sat16((2 * (int64_t)a16[i] * b16[i] + (1 << 15)) >> 16);
    hex("sqrdmulh16", r16, 16);
    for (int i = 0; i < 4; i++)
        r32[i] = (int32_t)(((int64_t)a32[i] + 64) >> 7);
    hex("srshr32", r32, 16);
    for (int i = 0; i < 4; i++)
        pr16[i] = pr16[i + 4] = (uint16_t)(u16[2 * i] + u16[2 * i + 1]);
    hex("addp16", pr16, 16);
    sum = u32[0] + u32[1] + u32[2] + u32[3];
    printf("addv32 %08x\n", sum);
    for (int i = 0; i < 16; i++)
        ur8[i] = (uint8_t)__builtin_popcount(u8a[i]);
    hex("cnt8", ur8, 16);
    for (int i = 0; i < 16; i++)
        ur8[i] = u8a[(i & 8) + 7 - (i & 7)];
    hex("rev64", ur8, 16);
    uint8_t idx[16];
    for (int i = 0; i < 16; i++)
        idx[i] = (uint8_t)(next() % 20);
    for (int i = 0; i < 16; i++)
        ur8[i] = idx[i] < 16 ? u8a[idx[i]] : 0;
    hex("tbl", ur8, 16);
    for (int i = 0; i < 8; i++) {
        ur8[2 * i] = u8a[i];
        ur8[2 * i + 1] = u8b[i];
    }
    hex("zip1", ur8, 16);
    for (int i = 0; i < 8; i++) {
        ur8[i] = u8a[2 * i + 1];
        ur8[i + 8] = u8b[2 * i + 1];
    }
    hex("uzp2", ur8, 16);
    for (int i = 0; i < 16; i++)
        ur8[i] = i + 5 < 16 ? u8a[i + 5] : u8b[i + 5 - 16];
    hex("ext5", ur8, 16);
    for (int i = 0; i < 4; i++)
        cv[i] = satf32(f32[i]);
    hex("fcvtzs", cv, 16);
    const float rn[4] = {2.5f, -3.5f, 0.49999997f, -0.0f};
    for (int i = 0; i < 4; i++)
        f32[i] = rintf(rn[i]); /* round to nearest, ties to even */
    hex("frintn", f32, 16);
    const float ma[4] = {1, -0.0f, 3, 4}, mb[4] = {2, 0.0f, -3, 4};
    for (int i = 0; i < 4; i++) /* FMAX: +0 > -0 */
        f32[i] = ma[i] > mb[i] ? ma[i] : mb[i] > ma[i] ? mb[i] : signbit(ma[i]) ? mb[i] : ma[i];
    hex("fmax", f32, 16);
#endif
}

/* ---- AES-128 --------------------------------------------------------------- */

static uint8_t sbox[256], inv_sbox[256];

static uint8_t xtime(uint8_t x) { return (uint8_t)(x << 1) ^ (x & 0x80 ? 0x1b : 0); }
static uint8_t gmul(uint8_t a, uint8_t b)
{
    uint8_t p = 0;
    while (b) {
        if (b & 1)
            p ^= a;
        a = xtime(a);
        b >>= 1;
    }
    return p;
}

/* The S-box from its definition: inverse in GF(2^8), then the affine map. */
static void make_sbox(void)
{
    for (int x = 0; x < 256; x++) {
        uint8_t inv = 0;
        for (int y = 1; y < 256 && x; y++)
            if (gmul((uint8_t)x, (uint8_t)y) == 1)
                inv = (uint8_t)y;
        uint8_t s = inv;
        for (int r = 1; r < 5; r++)
            s ^= (uint8_t)((inv << r) | (inv >> (8 - r)));
        sbox[x] = s ^ 0x63;
        inv_sbox[sbox[x]] = (uint8_t)x;
    }
}

static void expand_key(const uint8_t key[16], uint8_t rk[11][16])
{
    memcpy(rk[0], key, 16);
    uint8_t rcon = 1;
    for (int r = 1; r <= 10; r++) {
        const uint8_t *p = rk[r - 1];
        uint8_t t[4] = {sbox[p[13]] ^ rcon, sbox[p[14]], sbox[p[15]], sbox[p[12]]};
        rcon = xtime(rcon);
        for (int i = 0; i < 16; i++) {
            rk[r][i] = p[i] ^ (i < 4 ? t[i] : rk[r][i - 4]);
        }
    }
}

#ifndef __aarch64__
static void sub_shift(uint8_t s[16], const uint8_t *box, int inverse)
{
    uint8_t t[16];
    for (int c = 0; c < 4; c++)
        for (int r = 0; r < 4; r++) {
            int from = inverse ? ((c - r + 4) % 4) : ((c + r) % 4);
            t[c * 4 + r] = box[s[from * 4 + r]];
        }
    memcpy(s, t, 16);
}

static void mix(uint8_t s[16], int inverse)
{
    for (int c = 0; c < 4; c++) {
        uint8_t *a = &s[c * 4], t[4];
        for (int r = 0; r < 4; r++) {
            if (!inverse)
                t[r] = xtime(a[r]) ^ (xtime(a[(r + 1) % 4]) ^ a[(r + 1) % 4]) ^ a[(r + 2) % 4] ^
                       a[(r + 3) % 4];
            else
                t[r] = gmul(a[r], 14) ^ gmul(a[(r + 1) % 4], 11) ^ gmul(a[(r + 2) % 4], 13) ^
                       gmul(a[(r + 3) % 4], 9);
        }
        memcpy(a, t, 4);
    }
}

static void xor16(uint8_t *d, const uint8_t *k)
{
    for (int i = 0; i < 16; i++)
        d[i] ^= k[i];
}
#endif

static void aes_encrypt(const uint8_t rk[11][16], const uint8_t in[16], uint8_t out[16])
{
#ifdef __aarch64__
    uint8x16_t s = vld1q_u8(in);
    for (int r = 0; r < 9; r++)
        s = vaesmcq_u8(vaeseq_u8(s, vld1q_u8(rk[r])));
    s = veorq_u8(vaeseq_u8(s, vld1q_u8(rk[9])), vld1q_u8(rk[10]));
    vst1q_u8(out, s);
#else
    uint8_t s[16];
    memcpy(s, in, 16);
    xor16(s, rk[0]);
    for (int r = 1; r <= 10; r++) {
        sub_shift(s, sbox, 0);
        if (r < 10)
            mix(s, 0);
        xor16(s, rk[r]);
    }
    memcpy(out, s, 16);
#endif
}

static void aes_decrypt(const uint8_t rk[11][16], const uint8_t in[16], uint8_t out[16])
{
#ifdef __aarch64__
    uint8x16_t s = vaesdq_u8(vld1q_u8(in), vld1q_u8(rk[10]));
    for (int r = 9; r >= 1; r--)
        s = vaesdq_u8(vaesimcq_u8(s), vaesimcq_u8(vld1q_u8(rk[r])));
    vst1q_u8(out, veorq_u8(s, vld1q_u8(rk[0])));
#else
    uint8_t s[16];
    memcpy(s, in, 16);
    xor16(s, rk[10]);
    for (int r = 9; r >= 0; r--) {
        sub_shift(s, inv_sbox, 1);
        xor16(s, rk[r]);
        if (r > 0)
            mix(s, 1);
    }
    memcpy(out, s, 16);
#endif
}

static void test_aes(void)
{
    make_sbox();
    uint8_t key[16], pt[16], ct[16], back[16], rk[11][16];
    for (int i = 0; i < 16; i++) {
        key[i] = (uint8_t)i;
        pt[i] = (uint8_t)(i * 0x11);
    }
    expand_key(key, rk);
    aes_encrypt(rk, pt, ct);
    hex("aes128 fips-197", ct, 16);
    static const uint8_t want[16] = {0x69, 0xc4, 0xe0, 0xd8, 0x6a, 0x7b, 0x04, 0x30,
                                     0xd8, 0xcd, 0xb7, 0x80, 0x70, 0xb4, 0xc5, 0x5a};
    CHECK(memcmp(ct, want, 16) == 0);
    aes_decrypt(rk, ct, back);
    CHECK(memcmp(back, pt, 16) == 0);
    /* a CBC chain over random blocks */
    uint8_t iv[16] = {0}, blk[16];
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)next();
    expand_key(key, rk);
    for (int n = 0; n < 256; n++) {
        for (int i = 0; i < 16; i++)
            blk[i] = (uint8_t)next() ^ iv[i];
        aes_encrypt(rk, blk, iv);
        aes_decrypt(rk, iv, back);
        CHECK(memcmp(back, blk, 16) == 0);
    }
    hex("aes128 cbc-mac", iv, 16);
}

/* ---- SHA-256 --------------------------------------------------------------- */

static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2};

static void sha256_block(uint32_t st[8], const uint8_t *p)
{
#ifdef __aarch64__
    uint32x4_t abcd = vld1q_u32(&st[0]), efgh = vld1q_u32(&st[4]);
    uint32x4_t save0 = abcd, save1 = efgh, msg[4];
    for (int i = 0; i < 4; i++)
        msg[i] = vreinterpretq_u32_u8(vrev32q_u8(vld1q_u8(p + 16 * i)));
    for (int i = 0; i < 16; i++) {
        uint32x4_t wk = vaddq_u32(msg[i % 4], vld1q_u32(&K256[4 * i]));
        uint32x4_t old = abcd;
        abcd = vsha256hq_u32(abcd, efgh, wk);
        efgh = vsha256h2q_u32(efgh, old, wk);
        if (i < 12)
            msg[i % 4] = vsha256su1q_u32(vsha256su0q_u32(msg[i % 4], msg[(i + 1) % 4]),
                                         msg[(i + 2) % 4], msg[(i + 3) % 4]);
    }
    vst1q_u32(&st[0], vaddq_u32(abcd, save0));
    vst1q_u32(&st[4], vaddq_u32(efgh, save1));
#else
#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
    uint32_t w[64], v[8];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    memcpy(v, st, sizeof v);
    for (int i = 0; i < 64; i++) {
        uint32_t S1 = ROR(v[4], 6) ^ ROR(v[4], 11) ^ ROR(v[4], 25);
        uint32_t ch = (v[4] & v[5]) ^ (~v[4] & v[6]);
        uint32_t t1 = v[7] + S1 + ch + K256[i] + w[i];
        uint32_t S0 = ROR(v[0], 2) ^ ROR(v[0], 13) ^ ROR(v[0], 22);
        uint32_t mj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
        memmove(&v[1], &v[0], 7 * sizeof v[0]);
        v[4] += t1;
        v[0] = t1 + S0 + mj;
    }
    for (int i = 0; i < 8; i++)
        st[i] += v[i];
#endif
}

static void sha256(const uint8_t *msg, size_t len, uint8_t out[32])
{
    uint32_t st[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                      0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    uint8_t blk[64];
    size_t i = 0;
    for (; i + 64 <= len; i += 64)
        sha256_block(st, msg + i);
    size_t rest = len - i;
    memset(blk, 0, 64);
    memcpy(blk, msg + i, rest);
    blk[rest] = 0x80;
    if (rest >= 56) {
        sha256_block(st, blk);
        memset(blk, 0, 64);
    }
    uint64_t bitlen = (uint64_t)len * 8;
    for (int b = 0; b < 8; b++)
        blk[63 - b] = (uint8_t)(bitlen >> (8 * b));
    sha256_block(st, blk);
    for (int w = 0; w < 8; w++)
        for (int b = 0; b < 4; b++)
            out[4 * w + b] = (uint8_t)(st[w] >> (24 - 8 * b));
}

static void test_sha256(void)
{
    uint8_t d[32];
    sha256((const uint8_t *)"abc", 3, d);
    hex("sha256 abc", d, 32);
    static const uint8_t want[32] = {
        0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
        0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    CHECK(memcmp(d, want, 32) == 0);
    static uint8_t big[10007];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)next();
    sha256(big, sizeof big, d);
    hex("sha256 10007 bytes", d, 32);
}

/* ---- PMULL and CRC32 ----------------------------------------------------- */

static void clmul(uint64_t a, uint64_t b, uint64_t r[2])
{
#ifdef __aarch64__
    poly128_t p = vmull_p64(a, b);
    memcpy(r, &p, 16);
#else
    r[0] = r[1] = 0;
    for (int i = 0; i < 64; i++)
        if (b >> i & 1) {
            r[0] ^= a << i;
            if (i)
                r[1] ^= a >> (64 - i);
        }
#endif
}

static uint32_t crc_ref(uint32_t crc, const uint8_t *p, size_t n, uint32_t poly)
{
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = crc & 1 ? (crc >> 1) ^ poly : crc >> 1;
    }
    return crc;
}

static uint32_t crc32_of(const uint8_t *p, size_t n, int castagnoli)
{
    uint32_t crc = 0xffffffff;
#ifdef __aarch64__
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        crc = castagnoli ? __crc32cd(crc, v) : __crc32d(crc, v);
    }
    if (i + 4 <= n) {
        uint32_t v;
        memcpy(&v, p + i, 4);
        crc = castagnoli ? __crc32cw(crc, v) : __crc32w(crc, v);
        i += 4;
    }
    if (i + 2 <= n) {
        uint16_t v;
        memcpy(&v, p + i, 2);
        crc = castagnoli ? __crc32ch(crc, v) : __crc32h(crc, v);
        i += 2;
    }
    for (; i < n; i++)
        crc = castagnoli ? __crc32cb(crc, p[i]) : __crc32b(crc, p[i]);
#else
    crc = crc_ref(crc, p, n, castagnoli ? 0x82f63b78 : 0xedb88320);
#endif
    return ~crc;
}

static void test_pmull_crc(void)
{
    uint64_t r[2], acc0 = 0, acc1 = 0;
    clmul(0x8000000000000001ull, 0xffffffffffffffffull, r);
    printf("pmull %016llx%016llx\n", (unsigned long long)r[1], (unsigned long long)r[0]);
    for (int i = 0; i < 1000; i++) {
        clmul(next(), next(), r);
        acc0 ^= r[0] + (uint64_t)i;
        acc1 = acc1 * 31 + r[1];
    }
    printf("pmull mix %016llx %016llx\n", (unsigned long long)acc0, (unsigned long long)acc1);
    const uint8_t *check = (const uint8_t *)"123456789";
    uint32_t c = crc32_of(check, 9, 0), cc = crc32_of(check, 9, 1);
    printf("crc32 %08x crc32c %08x\n", c, cc);
    CHECK(c == 0xcbf43926);
    CHECK(cc == 0xe3069283);
    static uint8_t buf[4099];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)next();
    for (size_t n = 0; n < 40; n++)
        CHECK(crc32_of(buf + n, n * 7, 0) == ~crc_ref(0xffffffff, buf + n, n * 7, 0xedb88320));
    printf("crc32 4099 %08x crc32c 4099 %08x\n", crc32_of(buf, sizeof buf, 0),
           crc32_of(buf, sizeof buf, 1));
}

int main(void)
{
    test_matmul();
    test_lanes();
    test_aes();
    test_sha256();
    test_pmull_crc();
    printf("neon: %s (%d failures)\n", failures ? "FAIL" : "ok", failures);
    return failures;
}

/* intmath.c — integer arithmetic of every width, bit tricks, hashes, sorting,
 * CRC, overflow builtins, jump tables, function pointers and recursion.
 *
 * Every result goes into the printed output (directly or through a checksum);
 * known-answer checks (CRC32 of "123456789", FNV/murmur vectors, …) also set
 * the exit status: 0 = all self-checks passed, 1 = at least one failed.
 * No undefined behaviour: signed overflow is done in unsigned arithmetic,
 * division avoids x/0 and MIN/-1, shifts stay below the type width.
 * `volatile` inputs keep the compiler from folding the interesting operations
 * away, so the guest really executes sdiv/udiv/umulh/rbit/clz/….
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            printf("SELF-CHECK FAILED line %d: %s\n", __LINE__, #cond);        \
            failures++;                                                        \
        }                                                                      \
    } while (0)

/* ---- deterministic PRNG (splitmix64) ---------------------------------- */
static uint64_t rng_state = 0x0123456789abcdefULL;
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* ---- running checksum ------------------------------------------------- */
static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return h;
}

/* interesting values for each width */
static const int64_t special64[] = {
    0, 1, -1, 2, -2, 3, -3, 7, -7, 10, -10, 127, -128, 255, 256, 32767, -32768,
    65535, 65536, INT32_MAX, INT32_MIN, (int64_t)UINT32_MAX, (int64_t)UINT32_MAX + 1,
    INT64_MAX, INT64_MIN, INT64_MAX - 1, INT64_MIN + 1, 0x5555555555555555LL,
    (int64_t)0xaaaaaaaaaaaaaaaaULL, 0x0123456789abcdefLL, -0x0123456789abcdefLL,
    1000000007, -1000000007, 0x100000000LL, 0x7fffffffffffLL,
};
#define NSPECIAL (sizeof special64 / sizeof special64[0])

/* ---- arithmetic per width --------------------------------------------- */
#define ARITH_FN(NAME, ST, UT, SMIN)                                           \
    static uint64_t NAME(ST a, ST b)                                           \
    {                                                                          \
        volatile ST va = a, vb = b;                                            \
        ST x = va, y = vb;                                                     \
        UT ux = (UT)x, uy = (UT)y;                                             \
        uint64_t h = 0;                                                        \
        h = mix(h, (UT)(ux + uy));                                             \
        h = mix(h, (UT)(ux - uy));                                             \
        h = mix(h, (UT)((uint64_t)ux * uy)); /* no int promotion overflow */    \
        h = mix(h, (UT)(ux & uy));                                             \
        h = mix(h, (UT)(ux | uy));                                             \
        h = mix(h, (UT)(ux ^ uy));                                             \
        h = mix(h, (UT)~ux);                                                   \
        h = mix(h, (UT)(0 - ux));                                              \
        if (uy != 0) {                                                         \
            h = mix(h, (UT)(ux / uy));                                         \
            h = mix(h, (UT)(ux % uy));                                         \
        }                                                                      \
        if (y != 0 && !(x == SMIN && y == -1)) {                               \
            h = mix(h, (UT)(ST)(x / y));                                       \
            h = mix(h, (UT)(ST)(x % y));                                       \
        }                                                                      \
        h = mix(h, (x < y) | (x <= y) << 1 | (x > y) << 2 | (x >= y) << 3 |    \
                       (x == y) << 4 | (x != y) << 5 | (ux < uy) << 6 |        \
                       (ux <= uy) << 7 | (ux > uy) << 8 | (ux >= uy) << 9);    \
        h = mix(h, (UT)(x < y ? x : y));                                       \
        h = mix(h, (UT)(ux > uy ? ux : uy));                                   \
        return h;                                                              \
    }
ARITH_FN(arith8, int8_t, uint8_t, INT8_MIN)
ARITH_FN(arith16, int16_t, uint16_t, INT16_MIN)
ARITH_FN(arith32, int32_t, uint32_t, INT32_MIN)
ARITH_FN(arith64, int64_t, uint64_t, INT64_MIN)

static void test_arith(void)
{
    uint64_t h8 = 0, h16 = 0, h32 = 0, h64 = 0;
    for (size_t i = 0; i < NSPECIAL; i++)
        for (size_t j = 0; j < NSPECIAL; j++) {
            int64_t a = special64[i], b = special64[j];
            h8 = mix(h8, arith8((int8_t)a, (int8_t)b));
            h16 = mix(h16, arith16((int16_t)a, (int16_t)b));
            h32 = mix(h32, arith32((int32_t)a, (int32_t)b));
            h64 = mix(h64, arith64(a, b));
        }
    for (int k = 0; k < 2000; k++) {
        uint64_t a = rnd(), b = rnd();
        int sh = (int)(rnd() % 64);
        b >>= sh; /* mix of magnitudes so division is interesting */
        h8 = mix(h8, arith8((int8_t)a, (int8_t)b));
        h16 = mix(h16, arith16((int16_t)a, (int16_t)b));
        h32 = mix(h32, arith32((int32_t)a, (int32_t)b));
        h64 = mix(h64, arith64((int64_t)a, (int64_t)b));
    }
    printf("arith8  %016llx\n", (unsigned long long)h8);
    printf("arith16 %016llx\n", (unsigned long long)h16);
    printf("arith32 %016llx\n", (unsigned long long)h32);
    printf("arith64 %016llx\n", (unsigned long long)h64);
}

static void test_division_signs(void)
{
    volatile int a7 = 7, m7 = -7, two = 2, m2 = -2;
    volatile int imin = INT_MIN, one = 1, mone = -1;
    volatile long long lmin = LLONG_MIN, lmax = LLONG_MAX;
    volatile unsigned umax = UINT_MAX;
    printf("7/2=%d 7%%2=%d -7/2=%d -7%%2=%d 7/-2=%d 7%%-2=%d -7/-2=%d -7%%-2=%d\n",
           a7 / two, a7 % two, m7 / two, m7 % two, a7 / m2, a7 % m2, m7 / m2,
           m7 % m2);
    CHECK(m7 / two == -3 && m7 % two == -1 && a7 % m2 == 1);
    printf("INT_MIN/1=%d INT_MIN/2=%d INT_MIN/-2=%d INT_MIN%%7=%d INT_MIN%%-7=%d\n",
           imin / one, imin / two, imin / m2, imin % a7, imin % m7);
    printf("-(unsigned)INT_MIN=%u INT_MIN as unsigned/-1u=%u\n",
           -(unsigned)imin, (unsigned)imin / (unsigned)mone);
    printf("LLONG_MIN/2=%lld LLONG_MIN%%10=%lld LLONG_MAX/-3=%lld LLONG_MAX%%-3=%lld\n",
           lmin / two, lmin % 10, lmax / -3, lmax % -3);
    printf("UINT_MAX/3=%u UINT_MAX%%7=%u UINT_MAX/(unsigned)-1=%u\n", umax / 3,
           umax % 7, umax / (unsigned)mone);
    printf("ULLONG_MAX/10=%llu\n", (unsigned long long)ULLONG_MAX / 10);
    /* division by constants: the compiler emits multiply-high magic */
    uint64_t h = 0;
    for (int64_t i = -100000; i <= 100000; i += 7) {
        volatile int64_t v = i;
        h = mix(h, (uint64_t)(v / 3));
        h = mix(h, (uint64_t)(v % 3));
        h = mix(h, (uint64_t)(v / 7));
        h = mix(h, (uint64_t)(v / 10));
        h = mix(h, (uint64_t)(v % 10));
        h = mix(h, (uint64_t)(v / 1000));
        h = mix(h, (uint64_t)((int32_t)v / 13));
        h = mix(h, (uint64_t)((uint32_t)v / 13));
        h = mix(h, (uint64_t)((uint64_t)v / 1000000007));
        h = mix(h, (uint64_t)((uint64_t)v % 1000000007));
    }
    printf("divconst %016llx\n", (unsigned long long)h);
}

/* ---- 128-bit ---------------------------------------------------------- */
static void print_u128(const char *label, unsigned __int128 v)
{
    printf("%s %016llx%016llx\n", label, (unsigned long long)(v >> 64),
           (unsigned long long)v);
}

static void u128_to_dec(unsigned __int128 v, char *out)
{
    char tmp[64];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v);
    for (int i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = 0;
}

static void test_int128(void)
{
    volatile uint64_t a = 0xfedcba9876543210ULL, b = 0x0fedcba987654321ULL;
    volatile int64_t sa = -0x123456789abcdefLL, sb = 0x7edcba9876543210LL;
    unsigned __int128 p = (unsigned __int128)a * b;
    __int128 sp = (__int128)sa * sb;
    print_u128("umul128", p);
    print_u128("smul128", (unsigned __int128)sp);
    print_u128("umax*umax", (unsigned __int128)UINT64_MAX * UINT64_MAX);
    CHECK((uint64_t)(((unsigned __int128)UINT64_MAX * UINT64_MAX) >> 64) ==
          UINT64_MAX - 1);
    unsigned __int128 big = p + ((unsigned __int128)1 << 100);
    print_u128("big/ a", big / a);
    print_u128("big% b", big % b);
    print_u128("big>>67", big >> 67);
    print_u128("big<<13", big << 13);
    __int128 neg = -(__int128)big;
    print_u128("neg/1000", (unsigned __int128)(neg / 1000));
    print_u128("neg%1000", (unsigned __int128)(neg % 1000));
    print_u128("neg>>70", (unsigned __int128)(neg >> 70));
    char dec[64];
    u128_to_dec(~(unsigned __int128)0, dec);
    printf("u128max=%s\n", dec);
    CHECK(strcmp(dec, "340282366920938463463374607431768211455") == 0);
    /* mulh over random values */
    uint64_t h = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = rnd(), y = rnd();
        h = mix(h, (uint64_t)(((unsigned __int128)x * y) >> 64));
        h = mix(h, (uint64_t)(((__int128)(int64_t)x * (int64_t)y) >> 64));
    }
    printf("mulh %016llx\n", (unsigned long long)h);
}

/* ---- shifts, rotates, bit operations ---------------------------------- */
static uint32_t rotl32(uint32_t x, unsigned n) { return (x << (n & 31)) | (x >> (-n & 31)); }
static uint64_t rotr64(uint64_t x, unsigned n) { return (x >> (n & 63)) | (x << (-n & 63)); }

static void test_bits(void)
{
    volatile uint64_t v = 0x8123456789abcdefULL;
    volatile int64_t sv = (int64_t)0x8123456789abcdefULL;
    uint64_t h = 0;
    for (volatile unsigned n = 0; n < 64; n++) {
        h = mix(h, v << n);
        h = mix(h, v >> n);
        h = mix(h, (uint64_t)(sv >> n));
        h = mix(h, rotr64(v, n));
        if (n < 32) {
            h = mix(h, (uint32_t)v << n);
            h = mix(h, (uint32_t)v >> n);
            h = mix(h, (uint32_t)((int32_t)(uint32_t)v >> n));
            h = mix(h, rotl32((uint32_t)v, n));
        }
        if (n < 16) {
            h = mix(h, (uint16_t)((uint16_t)v << n));
            h = mix(h, (uint16_t)((int16_t)(uint16_t)v >> n));
        }
    }
    printf("shifts %016llx\n", (unsigned long long)h);
    printf("rotl32(0x80000001,1)=%08x rotr64(1,1)=%016llx\n", rotl32(0x80000001u, 1),
           (unsigned long long)rotr64(1, 1));

    h = 0;
    for (int i = 0; i < 3000; i++) {
        uint64_t x = rnd() >> (i % 64);
        uint32_t x32 = (uint32_t)x;
        h = mix(h, (uint64_t)__builtin_popcountll(x));
        h = mix(h, (uint64_t)__builtin_popcount(x32));
        h = mix(h, x ? (uint64_t)__builtin_clzll(x) : 64);
        h = mix(h, x ? (uint64_t)__builtin_ctzll(x) : 64);
        h = mix(h, x32 ? (uint64_t)__builtin_clz(x32) : 32);
        h = mix(h, x32 ? (uint64_t)__builtin_ctz(x32) : 32);
        h = mix(h, (uint64_t)__builtin_clrsbll((int64_t)x));
        h = mix(h, (uint64_t)__builtin_parityll(x));
        h = mix(h, (uint64_t)__builtin_ffsll((long long)x));
        h = mix(h, __builtin_bswap64(x));
        h = mix(h, __builtin_bswap32(x32));
        h = mix(h, __builtin_bswap16((uint16_t)x));
        /* bit reverse the slow way: arm64 has rbit, the compiler may use it */
        uint64_t r = 0;
        for (int b = 0; b < 64; b++)
            r |= ((x >> b) & 1) << (63 - b);
        h = mix(h, r);
    }
    printf("bitops %016llx\n", (unsigned long long)h);
    volatile uint64_t one = 1, zero_hi = 0x00000000ffffffffULL;
    printf("popcount(max)=%d clz(1)=%d ctz(1<<63)=%d clz32(ffffffff)=%d bswap64=%016llx bswap32=%08x bswap16=%04x\n",
           __builtin_popcountll(~(uint64_t)0), __builtin_clzll(one),
           __builtin_ctzll(one << 63), __builtin_clz((uint32_t)zero_hi),
           (unsigned long long)__builtin_bswap64(0x0102030405060708ULL),
           __builtin_bswap32(0xa1b2c3d4u), __builtin_bswap16(0xbeef));
    CHECK(__builtin_bswap64(0x0102030405060708ULL) == 0x0807060504030201ULL);

    /* sign/zero extension */
    volatile uint64_t w = 0xfedcba9880818283ULL;
    printf("sext8=%lld sext16=%lld sext32=%lld zext8=%llu zext16=%llu zext32=%llu\n",
           (long long)(int8_t)w, (long long)(int16_t)w, (long long)(int32_t)w,
           (unsigned long long)(uint8_t)w, (unsigned long long)(uint16_t)w,
           (unsigned long long)(uint32_t)w);
    /* explicit signed/unsigned char: plain char is unsigned on arm64 */
    volatile signed char sc = (signed char)-100;
    volatile unsigned char uc = 200;
    printf("signed char=%d unsigned char=%d sc*uc=%d sc>>2=%d\n", sc, uc, sc * uc, sc >> 2);
}

/* ---- bitfields -------------------------------------------------------- */
struct bf {
    unsigned int a : 3;
    signed int b : 5;
    unsigned int c : 12;
    signed int d : 12;
    unsigned long long e : 40;
    signed long long f : 23;
    unsigned int g : 1;
};

static void test_bitfields(void)
{
    struct bf s;
    memset(&s, 0, sizeof s);
    uint64_t h = 0;
    for (int i = 0; i < 500; i++) {
        uint64_t r = rnd();
        s.a = (unsigned)r;
        s.b = (signed int)((r >> 3) & 31) - 16;
        s.c = (unsigned)(r >> 8);
        s.d = (signed int)((r >> 20) & 4095) - 2048;
        s.e = r >> 7;
        s.f = (signed long long)((r >> 30) & 0x7fffff) - 0x400000;
        s.g = (unsigned)(r >> 63);
        s.c += s.a;       /* read-modify-write wraps in 12 bits */
        s.d = s.d / 2 + s.b;
        h = mix(h, s.a);
        h = mix(h, (uint64_t)(int64_t)s.b);
        h = mix(h, s.c);
        h = mix(h, (uint64_t)(int64_t)s.d);
        h = mix(h, s.e);
        h = mix(h, (uint64_t)(int64_t)s.f);
        h = mix(h, s.g);
    }
    s.b = 15;
    s.b = s.b + 1; /* out of range for a 5-bit signed field: gcc wraps (impl-defined, same on both) */
    printf("bitfields %016llx sizeof=%zu b=%d\n", (unsigned long long)h, sizeof s, s.b);
}

/* ---- hashes ----------------------------------------------------------- */
static uint32_t fnv1a32(const void *data, size_t n)
{
    const unsigned char *p = data;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}

static uint64_t fnv1a64(const void *data, size_t n)
{
    const unsigned char *p = data;
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static uint32_t murmur3_32(const void *key, size_t len, uint32_t seed)
{
    const unsigned char *data = key;
    const size_t nblocks = len / 4;
    uint32_t h1 = seed;
    const uint32_t c1 = 0xcc9e2d51, c2 = 0x1b873593;
    for (size_t i = 0; i < nblocks; i++) {
        uint32_t k1;
        memcpy(&k1, data + i * 4, 4); /* unaligned, little-endian on both */
        k1 *= c1;
        k1 = rotl32(k1, 15);
        k1 *= c2;
        h1 ^= k1;
        h1 = rotl32(h1, 13);
        h1 = h1 * 5 + 0xe6546b64;
    }
    const unsigned char *tail = data + nblocks * 4;
    uint32_t k1 = 0;
    switch (len & 3) {
    case 3: k1 ^= (uint32_t)tail[2] << 16; /* fall through */
    case 2: k1 ^= (uint32_t)tail[1] << 8;  /* fall through */
    case 1:
        k1 ^= tail[0];
        k1 *= c1;
        k1 = rotl32(k1, 15);
        k1 *= c2;
        h1 ^= k1;
    }
    h1 ^= (uint32_t)len;
    h1 ^= h1 >> 16;
    h1 *= 0x85ebca6b;
    h1 ^= h1 >> 13;
    h1 *= 0xc2b2ae35;
    h1 ^= h1 >> 16;
    return h1;
}

static uint64_t murmur64a(const void *key, size_t len, uint64_t seed)
{
    const uint64_t m = 0xc6a4a7935bd1e995ULL;
    const int r = 47;
    uint64_t h = seed ^ (len * m);
    const unsigned char *data = key;
    size_t nblocks = len / 8;
    for (size_t i = 0; i < nblocks; i++) {
        uint64_t k;
        memcpy(&k, data + 8 * i, 8);
        k *= m;
        k ^= k >> r;
        k *= m;
        h ^= k;
        h *= m;
    }
    const unsigned char *tail = data + nblocks * 8;
    switch (len & 7) {
    case 7: h ^= (uint64_t)tail[6] << 48; /* fall through */
    case 6: h ^= (uint64_t)tail[5] << 40; /* fall through */
    case 5: h ^= (uint64_t)tail[4] << 32; /* fall through */
    case 4: h ^= (uint64_t)tail[3] << 24; /* fall through */
    case 3: h ^= (uint64_t)tail[2] << 16; /* fall through */
    case 2: h ^= (uint64_t)tail[1] << 8;  /* fall through */
    case 1: h ^= (uint64_t)tail[0]; h *= m;
    }
    h ^= h >> r;
    h *= m;
    h ^= h >> r;
    return h;
}

static void test_hashes(void)
{
    CHECK(fnv1a32("", 0) == 0x811c9dc5u);
    CHECK(fnv1a32("a", 1) == 0xe40c292cu);
    CHECK(fnv1a32("foobar", 6) == 0xbf9cf968u);
    CHECK(fnv1a64("", 0) == 0xcbf29ce484222325ULL);
    CHECK(fnv1a64("a", 1) == 0xaf63dc4c8601ec8cULL);
    CHECK(fnv1a64("foobar", 6) == 0x85944171f73967e8ULL);
    CHECK(murmur3_32("", 0, 0) == 0);
    CHECK(murmur3_32("", 0, 1) == 0x514e28b7u);
    CHECK(murmur3_32("test", 4, 0) == 0xba6bd213u);
    CHECK(murmur3_32("Hello, world!", 13, 0x9747b28c) == 0x24884cbau);
    CHECK(murmur3_32("The quick brown fox jumps over the lazy dog", 43, 0x9747b28c) ==
          0x2fa826cdu);

    unsigned char buf[257];
    for (int i = 0; i < 257; i++)
        buf[i] = (unsigned char)(i * 37 + 11);
    uint64_t h = 0;
    for (size_t off = 0; off < 16; off++)
        for (size_t len = 0; len + off <= 257; len += 13) {
            h = mix(h, fnv1a32(buf + off, len));
            h = mix(h, fnv1a64(buf + off, len));
            h = mix(h, murmur3_32(buf + off, len, (uint32_t)off));
            h = mix(h, murmur64a(buf + off, len, off * 0x1234567ULL));
        }
    printf("fnv1a32(foobar)=%08x fnv1a64(foobar)=%016llx murmur3(test)=%08x murmur64a(foobar)=%016llx\n",
           fnv1a32("foobar", 6), (unsigned long long)fnv1a64("foobar", 6),
           murmur3_32("test", 4, 0), (unsigned long long)murmur64a("foobar", 6, 42));
    printf("hashes %016llx\n", (unsigned long long)h);
}

/* ---- CRC32 (IEEE, reflected) ------------------------------------------ */
static uint32_t crc_table[256];
static void crc32_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}
static uint32_t crc32(uint32_t crc, const void *data, size_t n)
{
    const unsigned char *p = data;
    crc = ~crc;
    while (n--)
        crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

static void test_crc(void)
{
    crc32_init();
    uint32_t c = crc32(0, "123456789", 9);
    printf("crc32(123456789)=%08x table[255]=%08x\n", c, crc_table[255]);
    CHECK(c == 0xcbf43926u);
    CHECK(crc32(0, "The quick brown fox jumps over the lazy dog", 43) == 0x414fa339u);
    static unsigned char big[100000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (unsigned char)rnd();
    uint32_t whole = crc32(0, big, sizeof big);
    uint32_t parts = crc32(crc32(0, big, 12345), big + 12345, sizeof big - 12345);
    printf("crc32(big)=%08x\n", whole);
    CHECK(whole == parts);
}

/* ---- sorting ---------------------------------------------------------- */
struct rec {
    int32_t key;
    uint32_t seq;
};

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static int cmp_rec(const void *a, const void *b)
{
    const struct rec *x = a, *y = b;
    if (x->key != y->key)
        return (x->key > y->key) - (x->key < y->key);
    return (x->seq > y->seq) - (x->seq < y->seq); /* total order: no stability question */
}

static void merge_sort(int64_t *a, int64_t *tmp, size_t n)
{
    if (n < 2)
        return;
    size_t mid = n / 2;
    merge_sort(a, tmp, mid);
    merge_sort(a + mid, tmp, n - mid);
    size_t i = 0, j = mid, k = 0;
    while (i < mid && j < n)
        tmp[k++] = a[j] < a[i] ? a[j++] : a[i++];
    while (i < mid)
        tmp[k++] = a[i++];
    while (j < n)
        tmp[k++] = a[j++];
    memcpy(a, tmp, n * sizeof *a);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void test_sort(void)
{
    enum { N = 5000 };
    static uint32_t u[N];
    static struct rec r[N];
    static int64_t s[N], s2[N], tmp[N];
    for (int i = 0; i < N; i++) {
        u[i] = (uint32_t)rnd();
        r[i].key = (int32_t)(rnd() % 200) - 100;
        r[i].seq = (uint32_t)i;
        s[i] = (int64_t)rnd() >> (i % 60);
        s2[i] = s[i];
    }
    qsort(u, N, sizeof u[0], cmp_u32);
    qsort(r, N, sizeof r[0], cmp_rec);
    merge_sort(s, tmp, N);
    qsort(s2, N, sizeof s2[0], cmp_i64);
    int ok = 1;
    for (int i = 1; i < N; i++) {
        if (u[i - 1] > u[i] || cmp_rec(&r[i - 1], &r[i]) > 0 || s[i - 1] > s[i])
            ok = 0;
    }
    CHECK(ok);
    CHECK(memcmp(s, s2, sizeof s) == 0);
    uint64_t h = 0;
    for (int i = 0; i < N; i++) {
        h = mix(h, u[i]);
        h = mix(h, (uint64_t)(int64_t)r[i].key ^ ((uint64_t)r[i].seq << 32));
        h = mix(h, (uint64_t)s[i]);
    }
    printf("sorted ok=%d u[0]=%u u[N-1]=%u r[0]=(%d,%u) s[0]=%lld s[N-1]=%lld hash=%016llx\n",
           ok, u[0], u[N - 1], r[0].key, r[0].seq, (long long)s[0],
           (long long)s[N - 1], (unsigned long long)h);
    /* bsearch */
    uint32_t key = u[1234];
    uint32_t *found = bsearch(&key, u, N, sizeof u[0], cmp_u32);
    CHECK(found && *found == key);
}

/* ---- overflow builtins ------------------------------------------------ */
static void test_overflow(void)
{
    static const long long vals[] = {0, 1, -1, 2, 100, -100, INT_MAX, INT_MIN,
                                     (long long)INT_MAX + 1, LLONG_MAX, LLONG_MIN,
                                     LLONG_MAX / 2 + 1, 3037000500LL, -3037000500LL};
    int nv = sizeof vals / sizeof vals[0];
    uint64_t h = 0;
    unsigned flags = 0, bit = 0;
    for (int i = 0; i < nv; i++)
        for (int j = 0; j < nv; j++) {
            volatile long long a = vals[i], b = vals[j];
            long long rl;
            int ri;
            unsigned ru;
            unsigned long long rul;
            signed char rc;
            int o;
            o = __builtin_add_overflow(a, b, &rl); h = mix(h, (uint64_t)rl * 2 + o);
            o = __builtin_sub_overflow(a, b, &rl); h = mix(h, (uint64_t)rl * 2 + o);
            o = __builtin_mul_overflow(a, b, &rl); h = mix(h, (uint64_t)rl * 2 + o);
            o = __builtin_add_overflow((int)a, (int)b, &ri); h = mix(h, (uint64_t)(unsigned)ri * 2 + o);
            o = __builtin_sub_overflow((int)a, (int)b, &ri); h = mix(h, (uint64_t)(unsigned)ri * 2 + o);
            o = __builtin_mul_overflow((int)a, (int)b, &ri); h = mix(h, (uint64_t)(unsigned)ri * 2 + o);
            o = __builtin_add_overflow((unsigned)a, (unsigned)b, &ru); h = mix(h, (uint64_t)ru * 2 + o);
            o = __builtin_sub_overflow((unsigned)a, (unsigned)b, &ru); h = mix(h, (uint64_t)ru * 2 + o);
            o = __builtin_mul_overflow((unsigned)a, (unsigned)b, &ru); h = mix(h, (uint64_t)ru * 2 + o);
            o = __builtin_add_overflow((unsigned long long)a, (unsigned long long)b, &rul); h = mix(h, rul * 2 + o);
            o = __builtin_mul_overflow((unsigned long long)a, (unsigned long long)b, &rul); h = mix(h, rul * 2 + o);
            o = __builtin_mul_overflow(a, b, &rc); h = mix(h, (uint64_t)(unsigned char)rc * 2 + o);
            /* mixed signedness: signed * unsigned into signed */
            o = __builtin_mul_overflow(a, (unsigned long long)b, &rl); h = mix(h, (uint64_t)rl * 2 + o);
            if (i == 6 && bit < 32) { /* INT_MAX row: record int-add overflow flags */
                flags |= (unsigned)__builtin_add_overflow((int)a, (int)b, &ri) << bit;
                bit++;
            }
        }
    printf("overflow %016llx intmax-row-flags=%08x\n", (unsigned long long)h, flags);
    int r;
    CHECK(__builtin_add_overflow(INT_MAX, 1, &r) && r == INT_MIN);
    CHECK(!__builtin_sub_overflow(INT_MIN, -1, &r) && r == INT_MIN + 1);
    long long rl;
    CHECK(__builtin_mul_overflow(LLONG_MIN, -1LL, &rl) && rl == LLONG_MIN);
}

/* ---- switch / jump tables --------------------------------------------- */
static __attribute__((noinline)) int dense_switch(int x)
{
    switch (x) {
    case 0: return 17;
    case 1: return -3;
    case 2: return 1000;
    case 3: return x * x;
    case 4: return 44;
    case 5: return 5555;
    case 6: return -66;
    case 7: return 7 << 7;
    case 8: return 88;
    case 9: return 9;
    case 10: return 100;
    case 11: return -11;
    case 12: return 12 * 12;
    case 13: return 1313;
    case 14: return 0;
    case 15: return 15;
    case 16: return 0x16;
    case 17: return 170;
    case 18: return 18000;
    case 19: return -19;
    default: return x < 0 ? -1 : 999;
    }
}

static __attribute__((noinline)) const char *sparse_switch(unsigned x)
{
    switch (x) {
    case 1: return "one";
    case 10: return "ten";
    case 100: return "hundred";
    case 1000: return "thousand";
    case 65536: return "64k";
    case 0x80000000u: return "2^31";
    case 0xffffffffu: return "max";
    default: return "other";
    }
}

static __attribute__((noinline)) int char_class(unsigned char c)
{
    switch (c) {
    case 'a' ... 'z': return 1;
    case 'A' ... 'Z': return 2;
    case '0' ... '9': return 3;
    case ' ': case '\t': case '\n': return 4;
    case 0x80 ... 0xff: return 5;
    default: return 0;
    }
}

static void test_switch(void)
{
    uint64_t h = 0;
    for (int x = -5; x < 30; x++)
        h = mix(h, (uint64_t)(int64_t)dense_switch(x));
    printf("dense_switch %016llx d(3)=%d d(18)=%d d(-4)=%d d(25)=%d\n",
           (unsigned long long)h, dense_switch(3), dense_switch(18), dense_switch(-4),
           dense_switch(25));
    static const unsigned probes[] = {0, 1, 10, 11, 100, 1000, 65536, 0x80000000u, 0xffffffffu, 12345};
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++)
        printf("%s%s", i ? " " : "sparse_switch: ", sparse_switch(probes[i]));
    printf("\n");
    int counts[6] = {0};
    for (int c = 0; c < 256; c++)
        counts[char_class((unsigned char)c)]++;
    printf("char classes: %d %d %d %d %d %d\n", counts[0], counts[1], counts[2],
           counts[3], counts[4], counts[5]);
    CHECK(counts[1] == 26 && counts[2] == 26 && counts[3] == 10 && counts[5] == 128);
}

/* ---- function pointers ------------------------------------------------ */
typedef int64_t (*binop)(int64_t, int64_t);
static int64_t op_add(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }
static int64_t op_sub(int64_t a, int64_t b) { return (int64_t)((uint64_t)a - (uint64_t)b); }
static int64_t op_mul(int64_t a, int64_t b) { return (int64_t)((uint64_t)a * (uint64_t)b); }
static int64_t op_xor(int64_t a, int64_t b) { return a ^ b; }
static int64_t op_min(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t op_div(int64_t a, int64_t b) { return b == 0 || (a == INT64_MIN && b == -1) ? 0 : a / b; }

static int64_t many_args(int64_t a, int64_t b, int64_t c, int64_t d, int64_t e,
                         int64_t f, int64_t g, int64_t h, int64_t i, int64_t j,
                         int32_t k, int8_t l, uint16_t m)
{
    /* more than 8 integer args: some go on the stack */
    return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * g + 8 * h + 9 * i +
           10 * j + 11 * k + 12 * l + 13 * m;
}

static void test_funcptr(void)
{
    static const binop ops[] = {op_add, op_sub, op_mul, op_xor, op_min, op_div};
    static const char *names[] = {"add", "sub", "mul", "xor", "min", "div"};
    volatile int64_t acc = 12345;
    for (int round = 0; round < 3; round++)
        for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
            binop volatile f = ops[i];
            acc = f(acc, (int64_t)(i * 7 + round) - 5);
            printf("%s%s=%lld", i ? " " : "", names[i], (long long)acc);
            if (i == 5)
                printf("\n");
        }
    int64_t (*volatile ma)(int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                           int64_t, int64_t, int64_t, int64_t, int32_t, int8_t,
                           uint16_t) = many_args;
    int64_t r = ma(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, -11, -12, 65535);
    printf("many_args=%lld\n", (long long)r);
    CHECK(r == 1 + 4 + 9 + 16 + 25 + 36 + 49 + 64 + 81 + 100 - 121 - 144 + 13 * 65535);
}

/* ---- recursion -------------------------------------------------------- */
static __attribute__((noinline)) unsigned ackermann(unsigned m, unsigned n)
{
    if (m == 0)
        return n + 1;
    if (n == 0)
        return ackermann(m - 1, 1);
    return ackermann(m - 1, ackermann(m, n - 1));
}

static __attribute__((noinline)) uint64_t fib(unsigned n)
{
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

static uint64_t fib_iter(unsigned n)
{
    uint64_t a = 0, b = 1;
    while (n--) {
        uint64_t t = a + b;
        a = b;
        b = t;
    }
    return a;
}

static void test_recursion(void)
{
    unsigned a23 = ackermann(2, 3), a33 = ackermann(3, 3), a36 = ackermann(3, 6);
    uint64_t f27 = fib(27);
    printf("ack(2,3)=%u ack(3,3)=%u ack(3,6)=%u fib(27)=%llu fib_iter(90)=%llu\n",
           a23, a33, a36, (unsigned long long)f27, (unsigned long long)fib_iter(90));
    CHECK(a23 == 9 && a33 == 61 && a36 == 509);
    CHECK(f27 == 196418);
    CHECK(fib_iter(90) == 2880067194370816120ULL);
}

/* ---- misc: gcd, primes, collatz, abs ---------------------------------- */
static uint64_t gcd(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static uint64_t powmod(uint64_t b, uint64_t e, uint64_t m)
{
    uint64_t r = 1;
    b %= m;
    while (e) {
        if (e & 1)
            r = (uint64_t)((unsigned __int128)r * b % m);
        b = (uint64_t)((unsigned __int128)b * b % m);
        e >>= 1;
    }
    return r;
}

static void test_misc(void)
{
    /* sieve */
    enum { LIM = 200000 };
    static unsigned char comp[LIM];
    unsigned nprimes = 0;
    uint64_t sum = 0;
    for (unsigned i = 2; i < LIM; i++) {
        if (comp[i])
            continue;
        nprimes++;
        sum += i;
        for (unsigned j = i * 2; j < LIM; j += i)
            comp[j] = 1;
    }
    printf("primes<%d: %u sum=%llu\n", LIM, nprimes, (unsigned long long)sum);
    CHECK(nprimes == 17984);
    /* collatz */
    unsigned best = 0, bestlen = 0;
    for (unsigned s = 1; s < 30000; s++) {
        uint64_t x = s;
        unsigned len = 1;
        while (x != 1) {
            x = (x & 1) ? 3 * x + 1 : x / 2;
            len++;
        }
        if (len > bestlen) {
            bestlen = len;
            best = s;
        }
    }
    printf("collatz best<30000: %u len=%u\n", best, bestlen);
    printf("gcd=%llu powmod=%llu\n",
           (unsigned long long)gcd(1071ULL * 1000000007ULL, 462ULL * 1000000007ULL),
           (unsigned long long)powmod(2, 1000000006ULL, 1000000007ULL));
    CHECK(powmod(2, 1000000006ULL, 1000000007ULL) == 1); /* Fermat */
    volatile int ni = -5;
    volatile long long nl = -1234567890123LL;
    printf("abs=%d llabs=%lld labs=%ld\n", abs(ni), llabs(nl), labs((long)ni));
    /* lldiv/div */
    div_t d = div(-17, 5);
    lldiv_t ld = lldiv(-17000000000000LL, 3);
    printf("div(-17,5)=%d,%d lldiv=%lld,%lld\n", d.quot, d.rem, ld.quot, ld.rem);
}

int main(void)
{
    test_arith();
    test_division_signs();
    test_int128();
    test_bits();
    test_bitfields();
    test_hashes();
    test_crc();
    test_sort();
    test_overflow();
    test_switch();
    test_funcptr();
    test_recursion();
    test_misc();
    printf("intmath: %s (%d self-check failures)\n", failures ? "FAIL" : "ok", failures);
    return failures ? 1 : 0;
}

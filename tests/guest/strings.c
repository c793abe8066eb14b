/* strings.c — the <string.h> family at many sizes and every alignment.
 *
 * glibc picks hand-written (often SIMD, ifunc-selected) versions of these
 * routines, so they exercise loads/stores of all widths, unaligned accesses,
 * vector compares and tricky loop tails. Every result is checked against a
 * byte-at-a-time reference (exit status 1 on mismatch) and folded into a
 * per-function checksum that is printed. Comparison results are reduced to
 * their sign (only the sign is specified). No pointer values are printed.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

static int failures;
static void fail(const char *fn, size_t len, size_t a1, size_t a2, const char *what)
{
    if (failures < 20)
        printf("MISMATCH %s len=%zu align=%zu/%zu: %s\n", fn, len, a1, a2, what);
    failures++;
}

static uint64_t mix(uint64_t h, uint64_t v)
{
    return h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
}

static uint64_t rng = 88172645463325252ULL;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

#define BUFSZ 1024
#define GUARD 64
static unsigned char srcbuf[BUFSZ], dstbuf[BUFSZ], refbuf[BUFSZ];

static const size_t extra_sizes[] = {71, 79, 95, 96, 97, 111, 127, 128, 129, 143,
                                     160, 191, 192, 193, 200, 223, 255, 256, 257,
                                     271, 288, 299, 300};
#define NEXTRA (sizeof extra_sizes / sizeof extra_sizes[0])
/* sizes 0..70 one by one, then the list above */
static size_t size_at(size_t i) { return i <= 70 ? i : extra_sizes[i - 71]; }
#define NSIZES (71 + NEXTRA)

static void fill_random(unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)rnd();
}

static int sign(int x) { return (x > 0) - (x < 0); }

static uint64_t hash_buf(uint64_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = mix(h, p[i]);
    return h;
}

static void test_memcpy(void)
{
    uint64_t h = 0;
    size_t cases = 0;
    for (size_t si = 0; si < NSIZES; si++) {
        size_t n = size_at(si);
        for (size_t sa = 0; sa < 16; sa++)
            for (size_t da = 0; da < 16; da++) {
                fill_random(srcbuf, BUFSZ);
                fill_random(dstbuf, BUFSZ);
                memcpy(refbuf, dstbuf, BUFSZ);
                for (size_t i = 0; i < n; i++)
                    refbuf[GUARD + da + i] = srcbuf[GUARD + sa + i];
                void *r = memcpy(dstbuf + GUARD + da, srcbuf + GUARD + sa, n);
                if (r != dstbuf + GUARD + da)
                    fail("memcpy", n, sa, da, "return value");
                if (memcmp(refbuf, dstbuf, BUFSZ) != 0)
                    fail("memcpy", n, sa, da, "contents");
                h = mix(h, dstbuf[GUARD + da + n / 2]);
                cases++;
            }
    }
    printf("memcpy   cases=%zu hash=%016llx\n", cases, (unsigned long long)h);
}

static void test_memmove(void)
{
    uint64_t h = 0;
    size_t cases = 0;
    /* overlapping both directions: dst = src + d for d in -40..40 */
    for (size_t si = 0; si < NSIZES; si++) {
        size_t n = size_at(si);
        for (int d = -40; d <= 40; d++)
            for (size_t sa = 0; sa < 16; sa += 3) {
                fill_random(dstbuf, BUFSZ);
                memcpy(refbuf, dstbuf, BUFSZ);
                size_t s = 2 * GUARD + sa;
                size_t t = (size_t)((long)s + d);
                unsigned char tmp[BUFSZ];
                memcpy(tmp, refbuf + s, n);
                memcpy(refbuf + t, tmp, n);
                void *r = memmove(dstbuf + t, dstbuf + s, n);
                if (r != dstbuf + t)
                    fail("memmove", n, sa, (size_t)d, "return value");
                if (memcmp(refbuf, dstbuf, BUFSZ) != 0)
                    fail("memmove", n, sa, (size_t)(d + 100), "contents");
                h = mix(h, dstbuf[t + n / 3]);
                cases++;
            }
    }
    /* non-overlapping, all alignments */
    for (size_t si = 0; si < NSIZES; si++) {
        size_t n = size_at(si);
        for (size_t sa = 0; sa < 16; sa++)
            for (size_t da = 0; da < 16; da++) {
                fill_random(srcbuf, BUFSZ);
                memcpy(dstbuf, srcbuf, BUFSZ);
                memmove(dstbuf + GUARD + da, srcbuf + GUARD + sa, n);
                memcpy(refbuf, srcbuf, BUFSZ);
                memcpy(refbuf + GUARD + da, srcbuf + GUARD + sa, n);
                if (memcmp(refbuf, dstbuf, BUFSZ) != 0)
                    fail("memmove-nonoverlap", n, sa, da, "contents");
                cases++;
            }
    }
    printf("memmove  cases=%zu hash=%016llx\n", cases, (unsigned long long)h);
}

static void test_memset(void)
{
    static const int vals[] = {0, 0xff, 0x80, 0x7f, 0x5a, 0x1ff /* only low byte */, -1};
    uint64_t h = 0;
    size_t cases = 0;
    for (size_t si = 0; si < NSIZES; si++) {
        size_t n = size_at(si);
        for (size_t da = 0; da < 16; da++)
            for (size_t vi = 0; vi < sizeof vals / sizeof vals[0]; vi++) {
                fill_random(dstbuf, BUFSZ);
                memcpy(refbuf, dstbuf, BUFSZ);
                for (size_t i = 0; i < n; i++)
                    refbuf[GUARD + da + i] = (unsigned char)vals[vi];
                void *r = memset(dstbuf + GUARD + da, vals[vi], n);
                if (r != dstbuf + GUARD + da)
                    fail("memset", n, da, vi, "return value");
                if (memcmp(refbuf, dstbuf, BUFSZ) != 0)
                    fail("memset", n, da, vi, "contents");
                h = hash_buf(h, dstbuf + GUARD + da - 1, 3);
                cases++;
            }
    }
    /* bzero / explicit large zeroing (DC ZVA on arm64) */
    static unsigned char big[70000];
    for (size_t off = 0; off < 130; off += 13) {
        memset(big, 0xaa, sizeof big);
        memset(big + off, 0, sizeof big - 2 * off);
        size_t zeros = 0;
        for (size_t i = 0; i < sizeof big; i++)
            zeros += big[i] == 0;
        if (zeros != sizeof big - 2 * off)
            fail("memset-big", sizeof big - 2 * off, off, 0, "zero count");
        h = mix(h, zeros);
        bzero(big + off, 1000);
        h = hash_buf(h, big, 2000);
    }
    printf("memset   cases=%zu hash=%016llx\n", cases, (unsigned long long)h);
}

static int ref_memcmp(const unsigned char *a, const unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return a[i] < b[i] ? -1 : 1;
    return 0;
}

static void test_memcmp(void)
{
    uint64_t h = 0;
    size_t cases = 0;
    int signs[3] = {0};
    for (size_t si = 0; si < NSIZES; si++) {
        size_t n = size_at(si);
        for (size_t sa = 0; sa < 16; sa++)
            for (size_t da = 0; da < 16; da += 5) {
                fill_random(srcbuf, BUFSZ);
                unsigned char *a = srcbuf + GUARD + sa, *b = dstbuf + GUARD + da;
                memcpy(b, a, n);
                /* equal, then differ at one position with a high-bit byte */
                int r0 = memcmp(a, b, n);
                if (r0 != 0)
                    fail("memcmp", n, sa, da, "equal buffers");
                if (n > 0) {
                    size_t pos = (size_t)(rnd() % n);
                    b[pos] = (unsigned char)(a[pos] ^ (0x80 | (rnd() & 0x7f)));
                    int r1 = sign(memcmp(a, b, n));
                    int ref = ref_memcmp(a, b, n);
                    if (r1 != ref)
                        fail("memcmp", n, sa, da, "sign");
                    signs[r1 + 1]++;
                    h = mix(h, (uint64_t)(r1 + 1) * 1000 + pos);
                    /* comparing only up to pos must say equal */
                    if (memcmp(a, b, pos) != 0)
                        fail("memcmp", pos, sa, da, "prefix equal");
                    int rb = sign(bcmp(a, b, n));
                    if (rb == 0)
                        fail("bcmp", n, sa, da, "differs");
                }
                cases++;
            }
    }
    printf("memcmp   cases=%zu neg=%d zero=%d pos=%d hash=%016llx\n", cases,
           signs[0], signs[1], signs[2], (unsigned long long)h);
}

/* fill with non-zero bytes, terminating NUL at n */
static void make_string(unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)rnd();
        p[i] = c ? c : 'x';
    }
    p[n] = 0;
}

static void test_str_basic(void)
{
    uint64_t h = 0;
    size_t cases = 0;
    for (size_t si = 0; si < NSIZES; si++) {
        size_t n = size_at(si);
        for (size_t sa = 0; sa < 16; sa++) {
            fill_random(srcbuf, BUFSZ);
            char *s = (char *)srcbuf + GUARD + sa;
            make_string((unsigned char *)s, n);
            /* strlen / strnlen */
            if (strlen(s) != n)
                fail("strlen", n, sa, 0, "length");
            for (size_t lim = 0; lim < n + 3; lim += (n / 4) + 1) {
                size_t want = lim < n ? lim : n;
                if (strnlen(s, lim) != want)
                    fail("strnlen", n, sa, lim, "length");
            }
            /* strchr / strrchr / memchr / memrchr / rawmemchr of a planted char */
            unsigned char c = (unsigned char)(rnd() | 1);
            size_t first = n, last = n;
            for (size_t i = 0; i < n; i++)
                if ((unsigned char)s[i] == c) {
                    if (first == n)
                        first = i;
                    last = i;
                }
            char *p = strchr(s, c);
            size_t got = p ? (size_t)(p - s) : n;
            if (got != first)
                fail("strchr", n, sa, c, "position");
            p = strrchr(s, c);
            got = p ? (size_t)(p - s) : n;
            if (got != last)
                fail("strrchr", n, sa, c, "position");
            p = memchr(s, c, n);
            got = p ? (size_t)(p - s) : n;
            if (got != first)
                fail("memchr", n, sa, c, "position");
            p = memrchr(s, c, n);
            got = p ? (size_t)(p - s) : n;
            if (got != last)
                fail("memrchr", n, sa, c, "position");
            if (strchr(s, 0) != s + n)
                fail("strchr-nul", n, sa, 0, "position");
            if ((char *)rawmemchr(s, 0) != s + n)
                fail("rawmemchr", n, sa, 0, "position");
            if (strchrnul(s, 0) != s + n)
                fail("strchrnul", n, sa, 0, "position");
            if (n > 0) {
                size_t pos = (size_t)(rnd() % n);
                unsigned char pc = (unsigned char)s[pos];
                size_t f = 0;
                while ((unsigned char)s[f] != pc)
                    f++;
                if ((size_t)(strchr(s, pc) - s) != f)
                    fail("strchr-planted", n, sa, pos, "position");
                if ((size_t)((char *)memchr(s, pc, n) - s) != f)
                    fail("memchr-planted", n, sa, pos, "position");
                h = mix(h, f);
            }
            h = mix(h, first * 1000 + last);
            cases++;
        }
    }
    printf("strlen/strchr/memchr cases=%zu hash=%016llx\n", cases, (unsigned long long)h);
}

static int ref_strcmp(const unsigned char *a, const unsigned char *b, size_t lim)
{
    for (size_t i = 0; i < lim; i++) {
        if (a[i] != b[i])
            return a[i] < b[i] ? -1 : 1;
        if (a[i] == 0)
            return 0;
    }
    return 0;
}

static void test_strcmp_cpy(void)
{
    uint64_t h = 0;
    size_t cases = 0;
    for (size_t si = 0; si < NSIZES; si++) {
        size_t n = size_at(si);
        for (size_t sa = 0; sa < 16; sa++)
            for (size_t da = 0; da < 16; da += 3) {
                fill_random(srcbuf, BUFSZ);
                fill_random(dstbuf, BUFSZ);
                char *a = (char *)srcbuf + GUARD + sa;
                char *b = (char *)dstbuf + GUARD + da;
                make_string((unsigned char *)a, n);

                /* strcpy: exact bytes, guard untouched */
                memcpy(refbuf, dstbuf, BUFSZ);
                memcpy(refbuf + GUARD + da, a, n + 1);
                if (strcpy(b, a) != b)
                    fail("strcpy", n, sa, da, "return");
                if (memcmp(refbuf, dstbuf, BUFSZ) != 0)
                    fail("strcpy", n, sa, da, "contents");
                /* stpcpy */
                if (stpcpy(b, a) != b + n)
                    fail("stpcpy", n, sa, da, "return");

                if (strcmp(a, b) != 0)
                    fail("strcmp", n, sa, da, "equal");
                int rs = 0, rn = 0;
                if (n > 0) {
                    size_t pos = (size_t)(rnd() % n);
                    unsigned char nc = (unsigned char)(b[pos] ^ (rnd() & 0xff));
                    b[pos] = (char)(nc ? nc : 1);
                    rs = sign(strcmp(a, b));
                    if (rs != ref_strcmp((unsigned char *)a, (unsigned char *)b, (size_t)-1))
                        fail("strcmp", n, sa, da, "sign");
                    size_t lim = (size_t)(rnd() % (n + 2));
                    rn = sign(strncmp(a, b, lim));
                    if (rn != ref_strcmp((unsigned char *)a, (unsigned char *)b, lim))
                        fail("strncmp", n, sa, da, "sign");
                    /* shorter string compares less */
                    b[pos] = a[pos];
                    b[n - 1] = 0;
                    if (sign(strcmp(a, b)) != 1 || sign(strcmp(b, a)) != -1)
                        fail("strcmp-prefix", n, sa, da, "sign");
                }
                /* strncpy pads with NULs */
                memset(b, 0x55, n + 20);
                strncpy(b, a, n + 10);
                int padok = strlen(b) == n;
                for (size_t i = n; i < n + 10; i++)
                    padok &= b[i] == 0;
                padok &= (unsigned char)b[n + 10] == 0x55;
                if (!padok)
                    fail("strncpy", n, sa, da, "padding");
                h = mix(h, (uint64_t)(rs + 1) * 3 + (uint64_t)(rn + 1));
                cases++;
            }
    }
    printf("strcmp/strcpy cases=%zu hash=%016llx\n", cases, (unsigned long long)h);
}

static void test_strstr_misc(void)
{
    uint64_t h = 0;
    size_t cases = 0;
    char hay[400], needle[40];
    for (int iter = 0; iter < 3000; iter++) {
        /* small alphabet so matches happen */
        size_t hn = (size_t)(rnd() % 300), nn = (size_t)(rnd() % 12);
        for (size_t i = 0; i < hn; i++)
            hay[i] = (char)('a' + rnd() % 3);
        hay[hn] = 0;
        for (size_t i = 0; i < nn; i++)
            needle[i] = (char)('a' + rnd() % 3);
        needle[nn] = 0;
        if (iter % 4 == 0 && hn > nn) { /* plant it */
            size_t at = (size_t)(rnd() % (hn - nn + 1));
            memcpy(hay + at, needle, nn);
        }
        char *p = strstr(hay, needle);
        /* reference */
        size_t ref = (size_t)-1;
        for (size_t i = 0; i + nn <= hn; i++)
            if (memcmp(hay + i, needle, nn) == 0) {
                ref = i;
                break;
            }
        size_t got = p ? (size_t)(p - hay) : (size_t)-1;
        if (got != ref)
            fail("strstr", hn, nn, 0, "position");
        void *m = memmem(hay, hn, needle, nn);
        size_t gotm = m ? (size_t)((char *)m - hay) : (size_t)-1;
        if (gotm != ref)
            fail("memmem", hn, nn, 0, "position");
        h = mix(h, got);
        h = mix(h, strspn(hay, "ab"));
        h = mix(h, strcspn(hay, "c"));
        char *pb = strpbrk(hay, "cb");
        h = mix(h, pb ? (uint64_t)(pb - hay) : 9999);
        cases++;
    }
    printf("strstr/memmem/strspn cases=%zu hash=%016llx\n", cases, (unsigned long long)h);

    /* a few readable ones */
    char buf[128];
    strcpy(buf, "Hello");
    strcat(buf, ", ");
    const char *volatile w = "world!!!";
    strncat(buf, w, 6);
    printf("strcat: [%s] len=%zu\n", buf, strlen(buf));
    printf("strcasecmp: %d %d %d\n", sign(strcasecmp("HeLLo", "hello")),
           sign(strcasecmp("abc", "ABD")), sign(strncasecmp("xyzA", "XYZb", 3)));
    char tok[] = "  alpha,beta;;gamma , delta  ";
    char *save = NULL;
    printf("strtok_r:");
    for (char *t = strtok_r(tok, " ,;", &save); t; t = strtok_r(NULL, " ,;", &save))
        printf(" [%s]", t);
    printf("\n");
    char *d = strdup("duplicate me");
    char *dn = strndup("duplicate me", 9);
    printf("strdup: [%s] strndup: [%s]\n", d, dn);
    free(d);
    free(dn);
    printf("strstr: [%s] [%s]\n", strstr("the quick brown fox", "brown"),
           strstr("aaaaaaaaab", "aaab"));
    printf("strrchr: [%s] strchr: [%s]\n", strrchr("/usr/lib/libc.so.6", '/'),
           strchr("key=value=x", '='));
    /* high-bit bytes: memcmp compares as unsigned char */
    unsigned char hi[2] = {0x80, 0}, lo[2] = {0x7f, 0};
    printf("memcmp(0x80,0x7f)=%d strcmp(0x80,0x7f)=%d\n", sign(memcmp(hi, lo, 1)),
           sign(strcmp((char *)hi, (char *)lo)));
    if (sign(memcmp(hi, lo, 1)) != 1 || sign(strcmp((char *)hi, (char *)lo)) != 1)
        fail("highbit", 1, 0, 0, "unsigned compare");
}

/* strings ending exactly at the end of a readable page, next page PROT_NONE:
 * vectorised routines must not fault (they align their over-reads) */
static void test_page_edge(void)
{
    long pg = sysconf(_SC_PAGESIZE);
    unsigned char *m = mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        printf("page_edge: mmap failed\n");
        failures++;
        return;
    }
    if (mprotect(m + pg, (size_t)pg, PROT_NONE) != 0) {
        printf("page_edge: mprotect failed\n");
        failures++;
        return;
    }
    uint64_t h = 0;
    unsigned char *end = m + pg;
    for (size_t n = 0; n < 100; n++) {
        char *s = (char *)end - n - 1;
        memset(m, 'q', (size_t)pg);
        for (size_t i = 0; i < n; i++)
            s[i] = (char)('a' + i % 26);
        s[n] = 0;
        h = mix(h, strlen(s));
        h = mix(h, strnlen(s, 1000));
        char *c = strchr(s, 'z');
        h = mix(h, c ? (uint64_t)(c - s) : 999);
        c = strrchr(s, 'a');
        h = mix(h, c ? (uint64_t)(c - s) : 999);
        h = mix(h, (uint64_t)(sign(strcmp(s, s)) + 1));
        /* memchr/memcmp reading exactly up to the page end */
        c = memchr(s, 0, n + 1);
        h = mix(h, c ? (uint64_t)(c - s) : 999);
        h = mix(h, (uint64_t)(sign(memcmp(s, (char *)end - n - 1, n + 1)) + 1));
        char tmp[128];
        strcpy(tmp, s);
        h = mix(h, strlen(tmp));
        /* the same bytes at the start of the readable page, backwards scans */
        c = memrchr(m, 'a', 1);
        h = mix(h, c ? 1 : 0);
    }
    munmap(m, (size_t)pg * 2);
    printf("page_edge hash=%016llx\n", (unsigned long long)h);
}

int main(void)
{
    test_memcpy();
    test_memmove();
    test_memset();
    test_memcmp();
    test_str_basic();
    test_strcmp_cpy();
    test_strstr_misc();
    test_page_edge();
    printf("strings: %s (%d mismatches)\n", failures ? "FAIL" : "ok", failures);
    return failures ? 1 : 0;
}

/* stdio.c — printf-family formatting and string→integer parsing (no floating
 * point here: see fpbasic.c).
 *
 * Exercises glibc's vfprintf (varargs of every integer width, the va_list ABI,
 * which differs between x86-64 and arm64), snprintf truncation and return
 * values, sscanf, strtol/strtoul/strtoll/strtoull with bases and errno, and
 * stdio buffering (setvbuf, fputs/putc/puts, fwrite, open_memstream, fmemopen).
 * Known answers are checked; exit status 1 on any mismatch.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

#define EXPECT_STR(got, want)                                                  \
    do {                                                                       \
        if (strcmp((got), (want)) != 0) {                                      \
            printf("MISMATCH line %d: got [%s] want [%s]\n", __LINE__, (got),  \
                   (want));                                                    \
            failures++;                                                        \
        }                                                                      \
    } while (0)

#define EXPECT(cond)                                                           \
    do {                                                                       \
        if (!(cond)) {                                                         \
            printf("CHECK FAILED line %d: %s\n", __LINE__, #cond);             \
            failures++;                                                        \
        }                                                                      \
    } while (0)

static char buf[512];

/* Called through volatile pointers so GCC cannot evaluate the formatting at
 * compile time (it folds snprintf with constant arguments): the guest's libc
 * must really do the work. */
static int (*volatile snp)(char *, size_t, const char *, ...) = snprintf;
static int (*volatile sscan)(const char *, const char *, ...) = sscanf;

#define FMT(want, ...)                                                         \
    do {                                                                       \
        int n_ = snp(buf, sizeof buf, __VA_ARGS__);                       \
        printf("%-28s -> [%s] (%d)\n", #__VA_ARGS__, buf, n_);                 \
        EXPECT_STR(buf, want);                                                 \
        EXPECT(n_ == (int)strlen(want));                                       \
    } while (0)

static void test_ints(void)
{
    FMT("42", "%d", 42);
    FMT("-42", "%d", -42);
    FMT("2147483647 -2147483648", "%d %d", INT_MAX, INT_MIN);
    FMT("4294967295", "%u", UINT_MAX);
    FMT("9223372036854775807", "%ld", LONG_MAX);
    FMT("-9223372036854775808", "%lld", LLONG_MIN);
    FMT("18446744073709551615", "%llu", ULLONG_MAX);
    FMT("18446744073709551615", "%zu", (size_t)-1);
    FMT("-1", "%zd", (ssize_t)-1);
    FMT("-5", "%td", (ptrdiff_t)-5);
    FMT("-1 255 -1 65535", "%hhd %hhu %hd %hu", -1, 255, -1, 65535);
    FMT("-128 128", "%hhd %hhu", 128, 128); /* converted to (signed/unsigned) char */
    FMT("deadbeef DEADBEEF", "%x %X", 0xdeadbeefu, 0xdeadbeefu);
    FMT("0xff 0XFF 0377 0", "%#x %#X %#o %#x", 255, 255, 255, 0);
    FMT("ffffffffffffffff", "%llx", ~0ULL);
    FMT("777 1777777777777777777777", "%o %llo", 0777, ~0ULL);
    FMT("  42|42  |00042|+42| 42", "%4d|%-4d|%05d|%+d|% d", 42, 42, 42, 42, 42);
    FMT("   -42|-42   |-0042", "%6d|%-6d|%05d", -42, -42, -42);
    FMT("00042|  00042|", "%.5d|%7.5d|%.0d", 42, 42, 0);
    FMT("      2a|0x0000002a", "%*x|%#0*x", 8, 42, 10, 42);
    FMT("42   |", "%-*d|", 5, 42);
    FMT("1 2 3 4 5 6 7 8 9 10 11 12", "%d %d %d %d %d %d %d %d %d %d %d %d", 1, 2,
        3, 4, 5, 6, 7, 8, 9, 10, 11, 12); /* > register args: stack varargs */
    FMT("b a", "%2$s %1$s", "a", "b");
    FMT("123456789012 -1 18446744073709551615", "%" PRId64 " %" PRId32 " %" PRIu64,
        (int64_t)123456789012LL, (int32_t)-1, UINT64_MAX);
    FMT("ffff 7fffffff", "%" PRIx16 " %" PRIxMAX, (uint16_t)0xffff, (uintmax_t)INT_MAX);
}

static void test_strings_chars(void)
{
    FMT("hello", "%s", "hello");
    FMT("[   hi][hi   ][hel]", "[%5s][%-5s][%.3s]", "hi", "hi", "hello");
    FMT("[  hel]", "[%5.3s]", "hello");
    FMT("(null)", "%s", (char *)NULL);
    FMT("A|  B|C  |", "%c|%3c|%-3c|", 'A', 'B', 'C');
    FMT("100%", "%d%%", 100);
    FMT("\xe2\x82\xac", "%s", "\xe2\x82\xac"); /* UTF-8 bytes pass through */
    FMT("x\ty\n", "x\ty\n");
    int nn = 0;
    snp(buf, sizeof buf, "abc%ndef", &nn);
    printf("%%n after abc: %d\n", nn);
    EXPECT(nn == 3);
    /* signed vs unsigned char when passed through varargs */
    signed char sc = -3;
    unsigned char uc = 253;
    FMT("-3 253", "%d %d", sc, uc);
}

static void test_snprintf_trunc(void)
{
    char small[8];
    memset(small, '#', sizeof small);
    int n = snp(small, sizeof small, "%s", "0123456789");
    printf("snprintf trunc: n=%d buf=[%s] last=%d\n", n, small, small[7]);
    EXPECT(n == 10 && strcmp(small, "0123456") == 0);
    n = snp(NULL, 0, "%d-%s", 12345, "abc");
    printf("snprintf(NULL,0): %d\n", n);
    EXPECT(n == 9);
    memset(small, '#', sizeof small);
    n = snp(small, 1, "xyz");
    printf("snprintf size 1: n=%d buf[0]=%d buf[1]=%c\n", n, small[0], small[1]);
    EXPECT(n == 3 && small[0] == 0 && small[1] == '#');
    /* every truncation length */
    const char *src = "The quick brown fox";
    unsigned sum = 0;
    for (size_t sz = 0; sz <= 24; sz++) {
        char t[32];
        memset(t, '@', sizeof t);
        int r = snp(t, sz, "%s!", src);
        EXPECT(r == 20);
        if (sz) {
            EXPECT(strlen(t) == (sz - 1 < 20 ? sz - 1 : 20));
            EXPECT(t[sz] == '@' || sz == 32);
        }
        sum = sum * 31 + (unsigned)(sz ? strlen(t) : 99);
    }
    printf("truncation sum=%u\n", sum);
    char *dyn = NULL;
    n = asprintf(&dyn, "%s=%d", "answer", 42);
    printf("asprintf: %d [%s]\n", n, dyn);
    EXPECT(n == 9);
    free(dyn);
}

static int my_vformat(char *out, size_t sz, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(out, sz, fmt, ap);
    /* consume the copy independently */
    int first = va_arg(ap2, int);
    va_end(ap2);
    va_end(ap);
    return n * 1000 + first;
}

static long long sum_varargs(int count, ...)
{
    va_list ap;
    va_start(ap, count);
    long long s = 0;
    for (int i = 0; i < count; i++) {
        if (i % 3 == 0)
            s += va_arg(ap, int);
        else if (i % 3 == 1)
            s += va_arg(ap, long long);
        else
            s += (long long)(unsigned)va_arg(ap, unsigned);
    }
    va_end(ap);
    return s;
}

static void test_varargs(void)
{
    char out[64];
    int r = my_vformat(out, sizeof out, "%d+%d=%d", 2, 3, 5);
    printf("vsnprintf: [%s] r=%d\n", out, r);
    EXPECT(r == 5002);
    long long s = sum_varargs(12, 1, 2LL, 3u, -4, 5000000000LL, 6u, 7, 8LL, 9u,
                              -10, -11LL, 0xffffffffu);
    printf("sum_varargs=%lld\n", s);
    EXPECT(s == 1 + 2 + 3 - 4 + 5000000000LL + 6 + 7 + 8 + 9 - 10 - 11 + 4294967295LL);
}

static void test_sscanf(void)
{
    int a = 0, b = 0;
    unsigned u = 0;
    long l = 0;
    char word[32] = "", rest[64] = "";
    int n = sscan("  12 -34 0x1f 077 hello world", "%d %i %x %lo %31s %63[^\n]", &a,
                   &b, &u, &l, word, rest);
    printf("sscanf: n=%d a=%d b=%d u=%u l=%ld word=[%s] rest=[%s]\n", n, a, b, u, l,
           word, rest);
    EXPECT(n == 6 && a == 12 && b == -34 && u == 31 && l == 63);
    int i1 = 0, i2 = 0, i3 = 0;
    n = sscan("0x10 010 10", "%i %i %i", &i1, &i2, &i3);
    printf("sscanf %%i: %d %d %d (n=%d)\n", i1, i2, i3, n);
    EXPECT(i1 == 16 && i2 == 8 && i3 == 10);
    int pos = 0;
    char c = 0;
    n = sscan("key=value;", "key=%*[^;]%c%n", &c, &pos);
    printf("sscanf skip: n=%d c=%c pos=%d\n", n, c, pos);
    long long ll = 0;
    unsigned long long ull = 0;
    n = sscan("-9223372036854775808 18446744073709551615", "%lld %llu", &ll, &ull);
    printf("sscanf ll: %lld %llu\n", ll, ull);
    EXPECT(ll == LLONG_MIN && ull == ULLONG_MAX);
    n = sscan("abc", "%d", &a);
    printf("sscanf no match: n=%d\n", n);
    n = sscan("", "%d", &a);
    printf("sscanf empty: n=%d (EOF=%d)\n", n, EOF);
    unsigned char hh = 0;
    n = sscan("300", "%hhu", &hh);
    printf("sscanf %%hhu 300: %u\n", hh);
}

static void show_strtol(const char *s, int base)
{
    char *end = NULL; /* not stored by glibc for an invalid base */
    errno = 0;
    long v = strtol(s, &end, base);
    int e = errno;
    printf("strtol(\"%s\", %d) = %ld end=%+td errno=%s\n", s, base, v, end ? end - s : -1,
           e == 0 ? "0" : e == ERANGE ? "ERANGE" : e == EINVAL ? "EINVAL" : "other");
}

static void show_strtoul(const char *s, int base)
{
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(s, &end, base);
    int e = errno;
    printf("strtoul(\"%s\", %d) = %lu end=%+td errno=%s\n", s, base, v, end ? end - s : -1,
           e == 0 ? "0" : e == ERANGE ? "ERANGE" : e == EINVAL ? "EINVAL" : "other");
}

static void test_strtol(void)
{
    show_strtol("12345", 10);
    show_strtol("  -12345xyz", 10);
    show_strtol("0x7fffffffffffffff", 16);
    show_strtol("0x7fffffffffffffff", 0);
    show_strtol("0777", 0);
    show_strtol("0777", 10);
    show_strtol("z", 36);
    show_strtol("ZZZZZZ", 36);
    show_strtol("1010101", 2);
    show_strtol("9223372036854775807", 10);
    show_strtol("9223372036854775808", 10);
    show_strtol("-9223372036854775808", 10);
    show_strtol("-9223372036854775809", 10);
    show_strtol("", 10);
    show_strtol("   ", 10);
    show_strtol("+", 10);
    show_strtol("0x", 16);
    show_strtol("12", 1);
    show_strtol("12", 37);
    show_strtoul("18446744073709551615", 10);
    show_strtoul("18446744073709551616", 10);
    show_strtoul("-1", 10);
    show_strtoul("ffffffffffffffff", 16);
    show_strtoul("0XABCDEF", 0);
    errno = 0;
    long long ll = strtoll("-0x8000000000000000", NULL, 16);
    unsigned long long ull = strtoull("0b101", NULL, 0); /* C2x/glibc 2.38 only: 0 here */
    printf("strtoll=%lld strtoull(0b101,0)=%llu errno=%d\n", ll, ull, errno);
    printf("atoi=%d atol=%ld atoll=%lld\n", atoi("  -77abc"), atol("123456789012"),
           atoll("-5"));
    intmax_t im = strtoimax("-42", NULL, 10);
    uintmax_t um = strtoumax("42", NULL, 8);
    printf("strtoimax=%jd strtoumax=%ju\n", im, um);
}

static void test_streams(void)
{
    /* open_memstream: a growing in-memory FILE */
    char *mem = NULL;
    size_t memlen = 0;
    FILE *f = open_memstream(&mem, &memlen);
    for (int i = 0; i < 1000; i++)
        fprintf(f, "%d,", i);
    fclose(f);
    unsigned h = 0;
    for (size_t i = 0; i < memlen; i++)
        h = h * 131 + (unsigned char)mem[i];
    printf("open_memstream: len=%zu hash=%08x tail=[%s]\n", memlen, h, mem + memlen - 8);
    free(mem);

    /* fmemopen: read numbers back */
    char data[] = "10 20 30 40 50";
    f = fmemopen(data, strlen(data), "r");
    int v, sum = 0, cnt = 0;
    while (fscanf(f, "%d", &v) == 1) {
        sum += v;
        cnt++;
    }
    printf("fmemopen: count=%d sum=%d feof=%d\n", cnt, sum, feof(f) != 0);
    fclose(f);

    /* ungetc, getc */
    f = fmemopen(data, strlen(data), "r");
    int c1 = getc(f);
    ungetc('X', f);
    int c2 = getc(f), c3 = getc(f);
    printf("getc/ungetc: %c %c %c\n", c1, c2, c3);
    fclose(f);
}

int main(void)
{
    /* full buffering with our own buffer, then line output via several APIs */
    static char iobuf[4096];
    setvbuf(stdout, iobuf, _IOFBF, sizeof iobuf);
    test_ints();
    test_strings_chars();
    test_snprintf_trunc();
    test_varargs();
    test_sscanf();
    test_strtol();
    test_streams();
    fputs("fputs line\n", stdout);
    puts("puts line");
    putchar('p');
    putc('c', stdout);
    fputc('\n', stdout);
    fwrite("fwrite 12345\n", 1, 13, stdout);
    fprintf(stdout, "%s", "");
    fprintf(stderr, "stderr is not compared\n");
    printf("stdio: %s (%d mismatches)\n", failures ? "FAIL" : "ok", failures);
    return failures ? 1 : 0;
}

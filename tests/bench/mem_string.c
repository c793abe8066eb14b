/* Memory kernel: libc string and memory routines (memcpy, memmove, memset,
 * memchr, memcmp, strlen, strchr, strcmp) over sizes from 8 bytes to 1 MiB.
 * The static arm64 glibc picks its SIMD (ASIMD) implementations. */
#include "bench.h"
#include <string.h>

int main(int argc, char **argv) {
    long reps = bench_scale(argc, argv, 300);
    size_t big = 1 << 20;
    uint8_t *src = malloc(big + 64), *dst = malloc(big + 64);
    uint64_t s = 12345, sum = 0;
    for (size_t i = 0; i < big + 64; i++) src[i] = (uint8_t)('a' + (xorshift64(&s) % 26));

    /* bulk copies */
    for (long r = 0; r < reps; r++) {
        size_t n = big - (r & 63);
        memcpy(dst + (r & 7), src + (r & 15), n);
        memmove(dst + 1, dst, n - 1);
        sum = mix64(sum, dst[(r * 4099) % n]);
        memset(dst, (int)r, n / 2);
        sum = mix64(sum, dst[(r * 131) % n]);
    }
    /* small, variable-size copies and compares */
    for (long r = 0; r < reps * 20000; r++) {
        size_t n = 8 + (xorshift64(&s) & 255), off = xorshift64(&s) & 0xffff;
        memcpy(dst + off, src + off + (r & 31), n);
        { int c = memcmp(dst + off, src + off, n); sum += (uint64_t)((c > 0) - (c < 0)) + 1; }
    }
    /* NUL-terminated strings of varying lengths */
    char *str = (char *)dst;
    memcpy(str, src, big);
    for (size_t i = 0; i < big; i += 1 + (xorshift64(&s) % 4096)) str[i] = 0;
    str[big - 1] = 0;
    for (long r = 0; r < reps / 4 + 1; r++) {
        size_t pos = 0, len_sum = 0;
        while (pos < big - 1) {
            size_t l = strlen(str + pos);
            len_sum += l;
            const char *q = strchr(str + pos, 'q');
            if (q) len_sum += (size_t)(q - (str + pos));
            const void *z = memchr(str + pos, 'z', l);
            if (z) len_sum ^= (size_t)((const char *)z - (str + pos));
            if (pos > 0) len_sum += strcmp(str + pos, str + pos - 1) > 0;
            pos += l + 1;
        }
        sum = mix64(sum, len_sum);
    }
    printf("mem_string checksum=%016llx\n", (unsigned long long)sum);
    return 0;
}

/* Integer kernel: checksums. Table-driven CRC-32 (byte at a time and
 * slicing-by-8), bitwise CRC-32C and Adler-32 over a 1 MiB buffer. */
#include "bench.h"
#include <string.h>

static uint32_t T[8][256];

static void crc_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        T[0][i] = c;
    }
    for (int t = 1; t < 8; t++)
        for (int i = 0; i < 256; i++) T[t][i] = (T[t - 1][i] >> 8) ^ T[0][T[t - 1][i] & 0xff];
}

static uint32_t crc_bytewise(const uint8_t *p, size_t n, uint32_t c) {
    c = ~c;
    while (n--) c = T[0][(c ^ *p++) & 0xff] ^ (c >> 8);
    return ~c;
}

static uint32_t crc_slice8(const uint8_t *p, size_t n, uint32_t c) {
    c = ~c;
    while (n >= 8) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4); memcpy(&hi, p + 4, 4);
        lo ^= c;
        c = T[7][lo & 0xff] ^ T[6][(lo >> 8) & 0xff] ^ T[5][(lo >> 16) & 0xff] ^ T[4][lo >> 24] ^
            T[3][hi & 0xff] ^ T[2][(hi >> 8) & 0xff] ^ T[1][(hi >> 16) & 0xff] ^ T[0][hi >> 24];
        p += 8; n -= 8;
    }
    while (n--) c = T[0][(c ^ *p++) & 0xff] ^ (c >> 8);
    return ~c;
}

static uint32_t crc32c_bitwise(const uint8_t *p, size_t n) {
    uint32_t c = ~0u;
    while (n--) {
        c ^= *p++;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1)));
    }
    return ~c;
}

static uint32_t adler32(const uint8_t *p, size_t n) {
    uint32_t a = 1, b = 0;
    while (n) {
        size_t k = n < 5552 ? n : 5552;
        n -= k;
        while (k--) { a += *p++; b += a; }
        a %= 65521; b %= 65521;
    }
    return (b << 16) | a;
}

int main(int argc, char **argv) {
    long rounds = bench_scale(argc, argv, 48);
    size_t n = 1 << 20;
    uint8_t *buf = malloc(n);
    uint64_t s = 0xdeadbeefcafef00dULL, sum = 0;
    for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)(xorshift64(&s) >> 40);
    crc_init();
    for (long r = 0; r < rounds; r++) {
        buf[(r * 7919) % n] += 1;
        uint32_t a = crc_bytewise(buf, n, 0), b = crc_slice8(buf, n, 0);
        if (a != b) { puts("int_crc: slice-by-8 disagrees"); return 1; }
        sum = mix64(sum, a);
        sum = mix64(sum, adler32(buf, n));
        if (r % 4 == 0) sum = mix64(sum, crc32c_bitwise(buf, n / 4));
    }
    printf("int_crc checksum=%016llx\n", (unsigned long long)sum);
    return 0;
}

/* Integer kernel: hashing. FNV-1a and a murmur-style byte hash over a buffer,
 * then an open-addressing hash table (insert, lookup hits and misses). */
#include "bench.h"
#include <string.h>

static uint64_t fnv1a(const uint8_t *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) { h ^= p[i]; h *= 0x100000001b3ULL; }
    return h;
}

static uint64_t murmur_mix(uint64_t k) {
    k ^= k >> 33; k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33; k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
}

static uint64_t block_hash(const uint8_t *p, size_t n) {
    uint64_t h = 0x1234567;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v; memcpy(&v, p + i, 8);
        h = murmur_mix(h ^ v) + (h >> 7);
    }
    for (; i < n; i++) h = (h ^ p[i]) * 31;
    return h;
}

int main(int argc, char **argv) {
    long rounds = bench_scale(argc, argv, 24);
    size_t bufn = 1 << 20;
    uint8_t *buf = malloc(bufn);
    uint64_t s = 88172645463325252ULL;
    for (size_t i = 0; i < bufn; i++) buf[i] = (uint8_t)(xorshift64(&s) >> 56) & 0x7f;

    uint64_t sum = 0;
    for (long r = 0; r < rounds; r++) {
        buf[r % bufn] ^= 1;
        sum = mix64(sum, fnv1a(buf, bufn));
        sum = mix64(sum, block_hash(buf, bufn));
    }

    size_t cap = 1 << 20, mask = cap - 1;
    uint64_t *keys = calloc(cap, sizeof *keys);
    uint32_t *vals = calloc(cap, sizeof *vals);
    long nkeys = 300000 * rounds / 24 + 1000;
    if (nkeys > (long)(cap / 2)) nkeys = cap / 2;
    for (long r = 0; r < 3; r++) {
        memset(keys, 0, cap * sizeof *keys);
        uint64_t ks = 0x9e3779b97f4a7c15ULL + r;
        for (long i = 0; i < nkeys; i++) {
            uint64_t k = xorshift64(&ks) | 1;
            size_t j = murmur_mix(k) & mask;
            while (keys[j] && keys[j] != k) j = (j + 1) & mask;
            keys[j] = k; vals[j] = (uint32_t)i;
        }
        ks = 0x9e3779b97f4a7c15ULL + r;
        uint64_t hits = 0, misses = 0;
        for (long i = 0; i < 2 * nkeys; i++) {
            uint64_t k = (i & 1) ? (xorshift64(&s) & ~1ULL) : (xorshift64(&ks) | 1);
            size_t j = murmur_mix(k) & mask;
            while (keys[j] && keys[j] != k) j = (j + 1) & mask;
            if (keys[j] == k) hits += vals[j]; else misses++;
        }
        sum = mix64(sum, hits);
        sum = mix64(sum, misses);
    }
    printf("int_hash checksum=%016llx\n", (unsigned long long)sum);
    return 0;
}

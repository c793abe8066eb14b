/* mmap.c — the guest's address space: mmap/munmap/mprotect/mremap/madvise,
 * file-backed shared and private mappings, brk growth through malloc, and the
 * kernel's error answers. No addresses are printed, only facts about them.
 * Exit status: number of failed checks (capped at 100).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int failures;
#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c)) {                                                            \
            printf("CHECK FAILED line %d: %s (errno=%s)\n", __LINE__, #c,      \
                   errname(errno));                                            \
            failures++;                                                        \
        }                                                                      \
    } while (0)

static const char *errname(int e)
{
    switch (e) {
    case 0: return "0";
    case EINVAL: return "EINVAL";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EBADF: return "EBADF";
    case EFAULT: return "EFAULT";
    case EEXIST: return "EEXIST";
    case ENODEV: return "ENODEV";
    case EPERM: return "EPERM";
    default: return "other";
    }
}

static void show_ret(const char *what, int r)
{
    if (r < 0)
        printf("%s: -1 %s\n", what, errname(errno));
    else
        printf("%s: %d\n", what, r);
}

static void show_map(const char *what, void *p)
{
    if (p == MAP_FAILED)
        printf("%s: MAP_FAILED %s\n", what, errname(errno));
    else
        printf("%s: ok\n", what);
}

static uint64_t sum_bytes(const unsigned char *p, size_t n)
{
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++)
        s = s * 31 + p[i];
    return s;
}

static int all_equal(const unsigned char *p, size_t n, unsigned char v)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != v)
            return 0;
    return 1;
}

/* is [p, p+len) mapped? mincore fails with ENOMEM on unmapped ranges */
static int is_mapped(void *p, size_t len)
{
    unsigned char vec[64];
    return mincore(p, len, vec) == 0;
}

int main(void)
{
    const size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    printf("page size is 4096: %d\n", pg == 4096);

    /* --- anonymous mappings ------------------------------------------------ */
    size_t len = 16 * pg;
    unsigned char *a = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    show_map("mmap anon 16 pages", a);
    if (a == MAP_FAILED)
        return 100;
    printf("page aligned: %d zero filled: %d\n", ((uintptr_t)a % pg) == 0, all_equal(a, len, 0));
    for (size_t i = 0; i < len; i++)
        a[i] = (unsigned char)(i * 7);
    printf("sum after fill: %016llx\n", (unsigned long long)sum_bytes(a, len));

    /* mprotect read-only then back */
    show_ret("mprotect RO pages 2-3", mprotect(a + 2 * pg, 2 * pg, PROT_READ));
    printf("still readable: %d\n", a[2 * pg + 5] == (unsigned char)((2 * pg + 5) * 7));
    show_ret("mprotect RW again", mprotect(a + 2 * pg, 2 * pg, PROT_READ | PROT_WRITE));
    a[2 * pg] = 1;
    show_ret("mprotect unaligned addr", mprotect(a + 1, pg, PROT_READ));
    show_ret("mprotect bad prot", mprotect(a, pg, 0x1000000));
    show_ret("mprotect len 0", mprotect(a, 0, PROT_READ));

    /* MADV_DONTNEED zero-fills private anonymous memory */
    show_ret("madvise DONTNEED pages 4-5", madvise(a + 4 * pg, 2 * pg, MADV_DONTNEED));
    printf("dontneed zeroed: %d neighbours intact: %d %d\n", all_equal(a + 4 * pg, 2 * pg, 0),
           a[4 * pg - 1] == (unsigned char)((4 * pg - 1) * 7),
           a[6 * pg] == (unsigned char)((6 * pg) * 7));
    show_ret("madvise WILLNEED", madvise(a, pg, MADV_WILLNEED));
    show_ret("madvise unaligned", madvise(a + 1, pg, MADV_DONTNEED));

    /* partial munmap punches a hole */
    show_ret("munmap middle page 8", munmap(a + 8 * pg, pg));
    printf("hole unmapped: %d before mapped: %d after mapped: %d\n", !is_mapped(a + 8 * pg, pg),
           is_mapped(a + 7 * pg, pg), is_mapped(a + 9 * pg, pg));
    errno = 0;
    show_ret("mprotect unmapped hole", mprotect(a + 8 * pg, pg, PROT_READ));
    show_ret("mprotect range spanning hole", mprotect(a + 7 * pg, 3 * pg, PROT_READ | PROT_WRITE));
    show_ret("munmap hole again (ok)", munmap(a + 8 * pg, pg));
    show_ret("munmap unaligned", munmap(a + 1, pg));
    show_ret("munmap len 0", munmap(a, 0));

    /* MAP_FIXED into the hole */
    unsigned char *f = mmap(a + 8 * pg, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    show_map("MAP_FIXED into hole", f);
    printf("fixed at requested address: %d zero: %d\n", f == a + 8 * pg, all_equal(f, pg, 0));
    /* MAP_FIXED_NOREPLACE over an existing mapping fails with EEXIST */
    void *nr = mmap(a, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    show_map("MAP_FIXED_NOREPLACE over mapping", nr);
    /* a hint address that is free is honoured with plain mmap */

    /* --- error cases ------------------------------------------------------ */
    show_map("mmap len 0", mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    show_map("mmap no MAP_PRIVATE/SHARED", mmap(NULL, pg, PROT_READ, MAP_ANONYMOUS, -1, 0));
    show_map("mmap bad fd", mmap(NULL, pg, PROT_READ, MAP_PRIVATE, 12345, 0));
    show_map("mmap unaligned offset", mmap(NULL, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 1));
    show_map("mmap fixed unaligned", mmap(a + 1, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
    show_map("mmap huge", mmap(NULL, (size_t)1 << 62, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));

    /* --- mremap --------------------------------------------------------- */
    unsigned char *r = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    show_map("mmap for mremap", r);
    memset(r, 0xab, 4 * pg);
    unsigned char *r2 = mremap(r, 4 * pg, 2 * pg, 0);
    show_map("mremap shrink in place", r2);
    printf("shrink kept address: %d tail unmapped: %d contents: %d\n", r2 == r,
           !is_mapped(r + 2 * pg, 2 * pg), all_equal(r2, 2 * pg, 0xab));
    /* grow, may move */
    unsigned char *r3 = mremap(r2, 2 * pg, 64 * pg, MREMAP_MAYMOVE);
    show_map("mremap grow MAYMOVE", r3);
    printf("grown: old data kept: %d new part zero: %d\n", all_equal(r3, 2 * pg, 0xab),
           all_equal(r3 + 2 * pg, 62 * pg, 0));
    memset(r3 + 60 * pg, 0xcd, 4 * pg);
    /* forced move to a fixed target */
    unsigned char *tgt = mmap(NULL, 64 * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(tgt != MAP_FAILED);
    unsigned char *r4 = mremap(r3, 64 * pg, 64 * pg, MREMAP_MAYMOVE | MREMAP_FIXED, tgt);
    show_map("mremap FIXED move", r4);
    printf("moved to target: %d old gone: %d data: %d %d\n", r4 == tgt, !is_mapped(r3, pg),
           all_equal(r4, 2 * pg, 0xab), all_equal(r4 + 60 * pg, 4 * pg, 0xcd));
    /* growing in place into a still-mapped neighbour fails without MAYMOVE */
    unsigned char *q = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(q != MAP_FAILED);
    show_map("mremap grow into mapped neighbour, no MAYMOVE", mremap(q, 2 * pg, 4 * pg, 0));
    CHECK(munmap(q, 4 * pg) == 0);
    show_map("mremap bad flags", mremap(r4, pg, pg, 0x100));
    show_map("mremap unaligned", mremap(r4 + 1, pg, pg, 0));
    CHECK(munmap(r4, 64 * pg) == 0);

    /* --- file-backed mappings --------------------------------------------- */
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    char path[4096];
    snprintf(path, sizeof path, "%s/ferrite-mmap-XXXXXX", tmp);
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    unlink(path); /* anonymous from now on */
    size_t flen = 3 * pg + 100;
    unsigned char *content = malloc(flen);
    for (size_t i = 0; i < flen; i++)
        content[i] = (unsigned char)(i % 251);
    CHECK(write(fd, content, flen) == (ssize_t)flen);

    unsigned char *sh = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    show_map("mmap file MAP_SHARED", sh);
    printf("file contents visible: %d past-eof in last page zero: %d\n",
           memcmp(sh, content, flen) == 0, all_equal(sh + flen, 4 * pg - flen, 0));
    sh[10] = 'S';
    sh[2 * pg] = 'T';
    CHECK(msync(sh, 4 * pg - pg, MS_SYNC) == 0);
    unsigned char rb[2] = {0};
    CHECK(pread(fd, rb, 1, 10) == 1 && pread(fd, rb + 1, 1, (off_t)(2 * pg)) == 1);
    printf("MAP_SHARED write reaches file: %c%c\n", rb[0], rb[1]);
    /* a write() to the file is visible through the shared mapping */
    CHECK(pwrite(fd, "W", 1, 20) == 1);
    printf("file write visible in shared map: %c\n", sh[20]);

    unsigned char *pv = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, (off_t)pg);
    show_map("mmap file MAP_PRIVATE offset 1 page", pv);
    printf("private map sees offset data: %d\n", memcmp(pv + 1, content + pg + 1, pg - 1) == 0);
    const unsigned char orig = content[pg], mark = (unsigned char)(orig ^ 0xff);
    pv[0] = mark;
    unsigned char c = 0;
    CHECK(pread(fd, &c, 1, (off_t)pg) == 1);
    printf("MAP_PRIVATE write stays private: %d (file byte %u, map byte %u)\n", c == orig, c, pv[0]);
    printf("shared map unaffected by private write: %d\n", sh[pg] == orig);
    CHECK(munmap(pv, 2 * pg) == 0);
    CHECK(munmap(sh, 4 * pg) == 0);

    /* read-only fd cannot be mapped shared writable */
    int ro2 = -1;
    {
        char p2[4096];
        snprintf(p2, sizeof p2, "%s/ferrite-mmap-ro-XXXXXX", tmp);
        int w = mkstemp(p2);
        CHECK(w >= 0);
        CHECK(write(w, content, pg) == (ssize_t)pg);
        close(w);
        ro2 = open(p2, O_RDONLY);
        unlink(p2);
    }
    show_map("MAP_SHARED PROT_WRITE on O_RDONLY fd",
             mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED, ro2, 0));
    void *rom = mmap(NULL, pg, PROT_READ, MAP_SHARED, ro2, 0);
    show_map("MAP_SHARED PROT_READ on O_RDONLY fd", rom);
    show_ret("mprotect it writable", mprotect(rom, pg, PROT_READ | PROT_WRITE));
    void *romp = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro2, 0);
    show_map("MAP_PRIVATE PROT_WRITE on O_RDONLY fd", romp);
    close(ro2);
    free(content);

    /* /dev/zero mapping */
    int zfd = open("/dev/zero", O_RDWR);
    unsigned char *z = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, zfd, 0);
    show_map("mmap /dev/zero", z);
    printf("/dev/zero map zero: %d\n", z != MAP_FAILED && all_equal(z, 3 * pg, 0));
    close(zfd);

    /* a big sparse anonymous mapping, touched once per MiB */
    size_t big = (size_t)256 << 20;
    unsigned char *bm = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    show_map("mmap 256 MiB", bm);
    if (bm != MAP_FAILED) {
        uint64_t s = 0;
        for (size_t off = 0; off < big; off += 1 << 20) {
            bm[off] = (unsigned char)(off >> 20);
            s += bm[off] + bm[off + 4095];
        }
        printf("sparse touch sum: %llu\n", (unsigned long long)s);
        CHECK(munmap(bm, big) == 0);
    }

    /* --- brk / malloc ----------------------------------------------------- */
    void *brk0 = sbrk(0);
    CHECK(brk0 != (void *)-1);
    void *b1 = sbrk((intptr_t)(10 * pg));
    printf("sbrk grow returns old break: %d\n", b1 == brk0);
    void *brk1 = sbrk(0);
    printf("break moved by 10 pages: %d\n", (char *)brk1 - (char *)brk0 == (long)(10 * pg));
    memset(b1, 0x77, 10 * pg); /* new heap is usable */
    CHECK(sbrk(-(intptr_t)(5 * pg)) != (void *)-1);
    printf("break shrunk: %d\n", (char *)sbrk(0) - (char *)brk0 == (long)(5 * pg));
    CHECK(brk(brk0) == 0);
    printf("brk restored: %d\n", sbrk(0) == brk0);

    static const size_t sizes[] = {1, 7, 16, 24, 100, 1000, 4095, 4096, 4097, 65536,
                                   131071, 131072, 200000, 1 << 20, 5 << 20, 33 << 20};
    enum { NS = sizeof sizes / sizeof sizes[0] };
    void *blocks[NS * 4];
    uint64_t msum = 0;
    int aligned = 1;
    for (int round = 0; round < 4; round++)
        for (int i = 0; i < NS; i++) {
            size_t n = sizes[i] + (size_t)round * 3;
            unsigned char *m = malloc(n);
            CHECK(m != NULL);
            aligned &= ((uintptr_t)m % 16) == 0;
            memset(m, (int)(i + round), n);
            m[n - 1] = (unsigned char)(n & 0xff);
            blocks[round * NS + i] = m;
        }
    for (int round = 0; round < 4; round++)
        for (int i = 0; i < NS; i++) {
            size_t n = sizes[i] + (size_t)round * 3;
            unsigned char *m = blocks[round * NS + i];
            msum = msum * 3 + m[0] + m[n / 2] + m[n - 1];
        }
    printf("malloc blocks 16-aligned: %d checksum: %llu\n", aligned, (unsigned long long)msum);
    /* realloc growth keeps contents */
    unsigned char *grow = malloc(10);
    memcpy(grow, "0123456789", 10);
    int kept = 1;
    for (size_t n = 10; n < (8 << 20); n = n * 3 + 1) {
        grow = realloc(grow, n);
        CHECK(grow != NULL);
        kept &= memcmp(grow, "0123456789", 10) == 0;
    }
    printf("realloc kept contents: %d\n", kept);
    free(grow);
    for (int i = 0; i < NS * 4; i++)
        free(blocks[(i * 7) % (NS * 4)]);
    /* calloc returns zeroed memory even when reusing freed blocks */
    int zeroed = 1;
    for (int i = 0; i < NS; i++) {
        unsigned char *m = calloc(1, sizes[i]);
        zeroed &= all_equal(m, sizes[i], 0);
        free(m);
    }
    printf("calloc zeroed: %d\n", zeroed);
    void *al = NULL;
    show_ret("posix_memalign 4096", posix_memalign(&al, 4096, 12345));
    printf("aligned: %d\n", ((uintptr_t)al % 4096) == 0);
    free(al);
    int pr = posix_memalign(&al, 24, 100);
    printf("posix_memalign bad alignment: %s\n", pr == 0 ? "0" : errname(pr));

    CHECK(munmap(a, len) == 0);
    printf("mmap: %s (%d failures)\n", failures ? "FAIL" : "ok", failures);
    return failures > 100 ? 100 : failures;
}

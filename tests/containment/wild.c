/* wild.c — scenario 2: loads and stores through wild pointers.
 *
 * Each access runs in a forked child with a SIGSEGV/SIGBUS handler that checks
 * si_signo, si_code and si_addr against what the kernel of the build's
 * architecture reports (SEGV_MAPERR for unmapped addresses, SEGV_ACCERR for a
 * PROT_NONE page or a write to a read-only page). Built for arm64 (run under
 * ferrite and qemu-aarch64) and for x86-64 (native oracle). Non-canonical and
 * tagged addresses differ by architecture: arm64 ignores the top byte of data
 * addresses (TBI) and reports si_addr with the tag removed (the kernel's
 * arch_untagged_si_addr = sign-extension from bit 55); x86-64 raises a general
 * protection fault (si_code SI_KERNEL, si_addr 0).
 */
#include "probe.h"
#include <pthread.h>

static void rd(void *p) { (void)*(volatile long *)p; }
static void wr(void *p) { *(volatile long *)p = 0x1234; }
static void rd_byte(void *p) { (void)*(volatile char *)p; }

static const char rodata_str[] = "read-only data";

#ifdef __aarch64__
/* Tagged pointers used from two threads at once, with every access width, pairs,
 * vector registers and atomics: ferrite translates without Top Byte Ignore until the
 * first tagged access faults, then translates again with it (see x64::Identity);
 * a thread may still be running a block from before. */
struct tag_arg {
    unsigned long tag;
    long sum;
    unsigned char *buf;
    long *counter;
};

static void *tag_worker(void *v) {
    struct tag_arg *a = v;
    unsigned char *tp = (unsigned char *)((unsigned long)a->buf | a->tag);
    long *tc = (long *)((unsigned long)a->counter | a->tag);
    long sum = 0;
    for (int i = 0; i < 20000; i++) {
        int k = i % 64;
        tp[k] = (unsigned char)i;
        *(volatile unsigned short *)(tp + 64 + 2 * (k % 16)) = (unsigned short)i;
        *(volatile unsigned int *)(tp + 96 + 4 * (k % 8)) = (unsigned int)i;
        __int128 pair = ((__int128)i << 64) | (unsigned)i;
        *(volatile __int128 *)(tp + 128) = pair;
        __uint128_t back = *(volatile __uint128_t *)(tp + 128);
        unsigned char vec[16];
        memcpy(vec, tp + 96, 16);
        memcpy(tp + 144, vec, 16);
        sum += tp[k] + *(volatile unsigned short *)(tp + 64 + 2 * (k % 16)) +
               *(volatile unsigned int *)(tp + 96 + 4 * (k % 8)) + (long)(back >> 64) + tp[144];
        __atomic_fetch_add(tc, 1, __ATOMIC_SEQ_CST);
    }
    a->sum = sum;
    return NULL;
}

/* The same work through untagged pointers, for the expected sum. */
static long tag_expected(void) {
    static unsigned char buf[256];
    static long counter;
    struct tag_arg a = {0, 0, buf, &counter};
    tag_worker(&a);
    return a.sum;
}
#endif

int main(void) {
    probe_init();
    long pg = sysconf(_SC_PAGESIZE);
    struct { const char *name; unsigned long addr; } wild[] = {
        {"null", 0},
        {"0x10", 0x10},
        {"0xdeadbeef000", 0xdeadbeef000ul},
        {"1<<46", 1ul << 46},
        {"(1<<47)-8", (1ul << 47) - 8},
    };
    char name[128];
    for (unsigned i = 0; i < sizeof wild / sizeof wild[0]; i++) {
        snprintf(name, sizeof name, "read-%s", wild[i].name);
        probe(strdup(name), rd, (void *)wild[i].addr, SIGSEGV, SEGV_MAPERR, wild[i].addr);
        snprintf(name, sizeof name, "write-%s", wild[i].name);
        probe(strdup(name), wr, (void *)wild[i].addr, SIGSEGV, SEGV_MAPERR, wild[i].addr);
    }

    /* Addresses with a non-zero top byte. */
    unsigned long kern = 0xffff000000000000ul;
    unsigned long tagged_unmapped = 0x5a00000000000000ul | 0xdeadbeef000ul;
#ifdef __aarch64__
    /* bit 55 set: a TTBR1 (kernel) address; translation or permission fault
     * depending on the kernel's own mappings; si_addr keeps all bits. */
    probe2("read-0xffff000000000000", rd, (void *)kern, SIGSEGV, SEGV_MAPERR, SEGV_ACCERR, kern, kern);
    probe2("write-0xffff000000000000", wr, (void *)kern, SIGSEGV, SEGV_MAPERR, SEGV_ACCERR, kern, kern);
    /* TBI: the tag is ignored, the access goes to 0xdeadbeef000 (unmapped),
     * si_addr is reported untagged. */
    probe("read-tagged-unmapped", rd, (void *)tagged_unmapped, SIGSEGV, SEGV_MAPERR, 0xdeadbeef000ul);
    probe("write-tagged-unmapped", wr, (void *)tagged_unmapped, SIGSEGV, SEGV_MAPERR, 0xdeadbeef000ul);
    {
        /* TBI: a tagged pointer to valid memory works for loads and stores. */
        static volatile long cell = 77;
        volatile long *tp = (volatile long *)((unsigned long)&cell | 0x2a00000000000000ul);
        pid_t pid = fork();
        if (pid == 0) {
            *tp = *tp + 1;
            _exit(cell == 78 ? 0 : 1);
        }
        int st;
        waitpid(pid, &st, 0);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
            pass("tagged-pointer-access", "load/store through a pointer with tag 0x2a works (TBI)");
        else
            fail("tagged-pointer-access", "load/store through %p (tag 0x2a, TBI): child %s", (void *)tp,
                 describe_status(st));
    }
    {
        /* TBI from two threads, every kind of access (in a child: it starts without
         * any tagged access made yet). */
        long want = tag_expected();
        pid_t pid = fork();
        if (pid == 0) {
            static unsigned char b1[256], b2[256];
            static long counter;
            struct tag_arg a1 = {0x3c00000000000000ul, 0, b1, &counter};
            struct tag_arg a2 = {0x0100000000000000ul, 0, b2, &counter};
            pthread_t t;
            pthread_create(&t, NULL, tag_worker, &a2);
            tag_worker(&a1);
            pthread_join(t, NULL);
            _exit(a1.sum == want && a2.sum == want && counter == 40000 ? 0 : 1);
        }
        int st;
        waitpid(pid, &st, 0);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
            pass("tagged-pointers-threads", "two threads, all access kinds and atomics through tagged pointers");
        else
            fail("tagged-pointers-threads", "child %s", describe_status(st));
    }
#else
    probe("read-0xffff000000000000", rd, (void *)kern, SIGSEGV, SI_KERNEL, 0);
    probe("write-0xffff000000000000", wr, (void *)kern, SIGSEGV, SI_KERNEL, 0);
    probe("read-tagged-unmapped", rd, (void *)tagged_unmapped, SIGSEGV, SI_KERNEL, 0);
    probe("write-tagged-unmapped", wr, (void *)tagged_unmapped, SIGSEGV, SI_KERNEL, 0);
#endif

    /* A page the guest mapped and unmapped. */
    char *gone = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    gone[0] = 1;
    munmap(gone, pg);
    probe("read-unmapped-page", rd, gone + 8, SIGSEGV, SEGV_MAPERR, (unsigned long)(gone + 8));
    probe("write-unmapped-page", wr, gone + 8, SIGSEGV, SEGV_MAPERR, (unsigned long)(gone + 8));

    /* PROT_NONE page: ACCERR for reads and writes. */
    char *none = mmap(NULL, pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    probe("read-prot-none", rd, none + 16, SIGSEGV, SEGV_ACCERR, (unsigned long)(none + 16));
    probe("write-prot-none", wr, none + 16, SIGSEGV, SEGV_ACCERR, (unsigned long)(none + 16));

    /* Read-only page: reads work, writes fault with ACCERR. */
    char *ro = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ro[24] = 5;
    mprotect(ro, pg, PROT_READ);
    if (ro[24] == 5) pass("read-read-only", "value kept");
    else fail("read-read-only", "value lost");
    probe("write-read-only", wr, ro + 24, SIGSEGV, SEGV_ACCERR, (unsigned long)(ro + 24));
    probe("write-rodata", wr, (void *)((unsigned long)rodata_str & ~7ul), SIGSEGV, SEGV_ACCERR,
          (unsigned long)rodata_str & ~7ul);
    probe("write-text", wr, (void *)((unsigned long)main & ~7ul), SIGSEGV, SEGV_ACCERR,
          (unsigned long)main & ~7ul);

    /* A page that was readable, then became PROT_NONE (protection change seen). */
    char *later = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    later[0] = 1;
    mprotect(later, pg, PROT_NONE);
    probe("read-after-mprotect-none", rd_byte, later + 100, SIGSEGV, SEGV_ACCERR, (unsigned long)(later + 100));
    /* Just past the end of a mapping (the next page is a hole). */
    char *two = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(two + pg, pg);
    probe("read-past-end", rd_byte, two + pg, SIGSEGV, SEGV_MAPERR, (unsigned long)(two + pg));

    /* The parent is still fine. */
    char *m = malloc(1000);
    memset(m, 7, 1000);
    long sum = 0;
    for (int i = 0; i < 1000; i++) sum += m[i];
    if (sum == 7000) pass("alive", "malloc and memset after %d probes", n_pass + n_fail);
    else fail("alive", "sum %ld", sum);
    return finish("wild");
}

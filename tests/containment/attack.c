/* attack.c — scenario 1: the guest attacks ferrite's own memory.
 *
 * Protocol: prints "ready", then reads lines "start-end" (hex, the host
 * /proc/<ferrite pid>/maps ranges the test harness read from outside) from
 * stdin until EOF. The parts of those ranges that are not in the guest's own
 * /proc/self/maps are ferrite's; for each such part (below 2^47) it tries:
 *   mmap(MAP_FIXED)            must fail (ferrite documents ENOMEM)
 *   mmap(MAP_FIXED_NOREPLACE)  must fail with EEXIST or ENOMEM
 *   mprotect(PROT_NONE)        must fail with ENOMEM (a hole, for the guest)
 *   madvise(MADV_DONTNEED)     must fail with ENOMEM
 *   shmat(SHM_REMAP)           must fail with ENOMEM (as MAP_FIXED)
 *   mseal                      must fail with ENOMEM (not mapped, for the guest)
 *   UFFDIO_REGISTER            must fail with EINVAL (when userfaultfd is allowed)
 *   mremap(MREMAP_FIXED) of a guest page into it: must fail, source intact
 *   a jump to its first byte   SIGSEGV/SEGV_MAPERR at that address (forked child)
 *   munmap                     returns 0, as the kernel does for a hole
 * and after each range does real work (checksum, malloc, printf). Then:
 *   mprotect(0, 2^47, PROT_NONE) and madvise(0, 2^47, MADV_NORMAL): ENOMEM
 *     (page 0 is a hole), the process keeps running;
 *   in forked children: mmap(MAP_FIXED) and mremap(MREMAP_FIXED) over
 *     [64 KiB, 2^47) must fail without touching anything (the child then
 *     exits 0); munmap(0, 2^47), munmap(0, 2^48) and mprotect(text, 2^47 -
 *     text, PROT_NONE) must kill the child by SIGSEGV on its next instruction
 *     fetch, as on a real kernel.
 * and system calls that ferrite carries out itself (uname, rt_sigaction,
 * rt_sigprocmask, openat, newfstatat, execve) with a pointer into the range: each
 * must fail with EFAULT, as the kernel's copy_to_user/copy_from_user would.
 * Loads from ferrite's memory are only reported ("note:"): guest addresses are
 * host addresses, so a plain load reaches ferrite's memory by design.
 */
#include "probe.h"
#include <fcntl.h>
#include <sys/syscall.h>

#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/shm.h>
#include <sys/syscall.h>

#define MAXR 4096
static unsigned long hs[MAXR], he[MAXR]; /* host ranges */
static unsigned long gs[MAXR], ge[MAXR]; /* guest ranges */
static int nh, ng;

static unsigned long work(int round) {
    unsigned long sum = 0;
    char *m = malloc(4096 + round);
    for (int i = 0; i < 4096 + round; i++) m[i] = (char)(i * 31 + round);
    for (int i = 0; i < 4096 + round; i++) sum = sum * 131 + (unsigned char)m[i];
    free(m);
    char buf[64];
    snprintf(buf, sizeof buf, "%lx", sum);
    return sum ^ strlen(buf);
}

static void call(void *p) { ((void (*)(void))p)(); }

static unsigned long ferrite_starts[MAXR];
static int n_ferrite_starts;
static void load_byte(void *p) { (void)*(volatile unsigned char *)p; }

static void do_munmap_all(void *len) { munmap(NULL, (size_t)len); }
static unsigned long text_start;
static void do_mprotect_text(void *p) { (void)p; mprotect((void *)text_start, (1ul << 47) - text_start, PROT_NONE); }

static void huge_map_fixed(void *p) {
    (void)p;
    unsigned long lo = 0x10000, len = (1ul << 47) - lo;
    unsigned long before = work(1);
    void *r = mmap((void *)lo, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    int e = errno;
    if (r != MAP_FAILED) _exit(10);
    if (e != ENOMEM) _exit(11);
    if (work(1) != before) _exit(12);
    _exit(0);
}

static void huge_mremap_fixed(void *p) {
    (void)p;
    char *src = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(src, 0x5c, 1 << 20);
    void *r = mremap(src, 1 << 20, (1ul << 47) - 0x10000, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)0x10000);
    if (r != MAP_FAILED) _exit(10);
    if (src[12345] != 0x5c) _exit(12);
    if (work(2) == 0) _exit(13);
    _exit(0);
}

static void check_status(const char *name, int st, int want_sig, int want_exit) {
    int ok = want_sig ? (st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == want_sig)
                      : (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == want_exit);
    if (ok) pass(name, "child %s", describe_status(st));
    else if (want_sig) fail(name, "child %s, want killed by signal %d (%s)", describe_status(st), want_sig, signame(want_sig));
    else fail(name, "child %s, want exit %d", describe_status(st), want_exit);
}

int main(void) {
    probe_init();
    long pg = sysconf(_SC_PAGESIZE);
    text_start = (unsigned long)main & ~(pg - 1);
    unsigned long expect = work(0);
    out("ready\n");
    char line[512];
    while (fgets(line, sizeof line, stdin) && nh < MAXR) {
        if (sscanf(line, "%lx-%lx", &hs[nh], &he[nh]) == 2) nh++;
    }
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) {
        fail("guest-maps", "fopen /proc/self/maps: %s", strerror(errno));
        return finish("attack");
    }
    while (fgets(line, sizeof line, f) && ng < MAXR)
        if (sscanf(line, "%lx-%lx", &gs[ng], &ge[ng]) == 2) ng++;
    fclose(f);
    out("%d host ranges, %d guest ranges\n", nh, ng);
    if (nh == 0) fail("input", "no host ranges on stdin");

    /* A SysV segment and a userfaultfd to aim at ferrite's memory. */
    int shmid = shmget(IPC_PRIVATE, pg, IPC_CREAT | 0600);
    int uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
    if (uffd >= 0) {
        struct uffdio_api api = {.api = UFFD_API};
        if (ioctl(uffd, UFFDIO_API, &api) != 0) {
            close(uffd);
            uffd = -1;
        }
    }
    int nferrite = 0;
    for (int i = 0; i < nh; i++) {
        /* Subtract the guest ranges: what is left is ferrite's. */
        unsigned long cur = hs[i];
        while (cur < he[i]) {
            unsigned long end = he[i];
            int inside = 0;
            for (int j = 0; j < ng; j++) {
                if (gs[j] <= cur && cur < ge[j]) { cur = ge[j]; inside = 1; break; }
                if (gs[j] > cur && gs[j] < end) end = gs[j];
            }
            if (inside) continue;
            unsigned long s = cur, e = end, len = e - s;
            cur = end;
            char name[96];
            snprintf(name, sizeof name, "%lx-%lx", s, e);
            if (e > (1ul << 47)) {
                out("skip %s: above 2^47 (not a guest address on arm64 either)\n", name);
                continue;
            }
            nferrite++;
            if (n_ferrite_starts < MAXR) ferrite_starts[n_ferrite_starts++] = s;
            char n2[160];
            void *r;
            r = mmap((void *)s, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
            snprintf(n2, sizeof n2, "mmap-fixed %s", name);
            if (r == MAP_FAILED && errno == ENOMEM) n_pass++;
            else if (r == MAP_FAILED) fail(n2, "errno %s, want ENOMEM", strerror(errno));
            else fail(n2, "MAP_FIXED over ferrite's memory succeeded");
            r = mmap((void *)s, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
            snprintf(n2, sizeof n2, "mmap-fixed-page %s", name);
            if (r == MAP_FAILED && errno == ENOMEM) n_pass++;
            else fail(n2, r == MAP_FAILED ? strerror(errno) : "MAP_FIXED over ferrite's first page succeeded");
            r = mmap((void *)s, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
            snprintf(n2, sizeof n2, "mmap-noreplace %s", name);
            if (r == MAP_FAILED && (errno == EEXIST || errno == ENOMEM)) n_pass++;
            else if (r == MAP_FAILED) fail(n2, "errno %s, want EEXIST or ENOMEM", strerror(errno));
            else fail(n2, "MAP_FIXED_NOREPLACE over ferrite's memory returned %p", r);
            snprintf(n2, sizeof n2, "mprotect-none %s", name);
            if (mprotect((void *)s, len, PROT_NONE) == -1 && errno == ENOMEM) n_pass++;
            else fail(n2, "got %s, want ENOMEM", errno ? strerror(errno) : "success");
            errno = 0;
            snprintf(n2, sizeof n2, "madvise-dontneed %s", name);
            if (madvise((void *)s, len, MADV_DONTNEED) == -1 && errno == ENOMEM) n_pass++;
            else fail(n2, "got %s, want ENOMEM", errno ? strerror(errno) : "success");
            errno = 0;
            if (shmid >= 0) {
                snprintf(n2, sizeof n2, "shmat-remap %s", name);
                r = shmat(shmid, (void *)s, SHM_REMAP);
                if (r == (void *)-1 && errno == ENOMEM) n_pass++;
                else fail(n2, r == (void *)-1 ? strerror(errno) : "SHM_REMAP over ferrite's memory succeeded");
                errno = 0;
            }
            snprintf(n2, sizeof n2, "mseal %s", name);
            if (syscall(462, s, len, 0) == -1 && errno == ENOMEM) n_pass++;
            else fail(n2, "got %s, want ENOMEM", errno ? strerror(errno) : "success");
            errno = 0;
            if (uffd >= 0) {
                struct uffdio_register reg = {.range = {s, len}, .mode = UFFDIO_REGISTER_MODE_MISSING};
                snprintf(n2, sizeof n2, "uffd-register %s", name);
                if (ioctl(uffd, UFFDIO_REGISTER, &reg) == -1 && errno == EINVAL) n_pass++;
                else fail(n2, "got %s, want EINVAL", errno ? strerror(errno) : "success");
                errno = 0;
            }
            char *src = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            memset(src, 0x3c, pg);
            r = mremap(src, pg, pg, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)s);
            snprintf(n2, sizeof n2, "mremap-fixed %s", name);
            if (r != MAP_FAILED) fail(n2, "mremap into ferrite's memory returned %p", r);
            else if (src[pg - 1] != 0x3c) fail(n2, "source page changed after the failed mremap");
            else n_pass++;
            munmap(src, pg);
            snprintf(n2, sizeof n2, "jump %s", name);
            probe(strdup(n2), call, (void *)s, SIGSEGV, SEGV_MAPERR, s);
            snprintf(n2, sizeof n2, "munmap %s", name);
            if (munmap((void *)s, len) == 0) n_pass++;
            else fail(n2, "got %s, want 0 (unmapping a hole succeeds)", strerror(errno));
            /* System calls ferrite carries out itself, with a pointer into its memory:
             * the kernel's copy_to_user/copy_from_user would fail with EFAULT. */
#define EXPECT_EFAULT(what, call)                                                               \
    do {                                                                                        \
        errno = 0;                                                                              \
        long r_ = (call);                                                                       \
        int e_ = errno;                                                                         \
        snprintf(n2, sizeof n2, "%s into %s", what, name);                                     \
        if (r_ == -1 && e_ == EFAULT) n_pass++;                                                 \
        else fail(n2, "got %ld (%s), want EFAULT", r_, r_ == -1 ? strerror(e_) : "success");   \
    } while (0)
            EXPECT_EFAULT("uname(p)", syscall(SYS_uname, s));
            EXPECT_EFAULT("rt_sigaction(SIGUSR1, NULL, p)", syscall(SYS_rt_sigaction, SIGUSR1, 0, s, 8));
            EXPECT_EFAULT("rt_sigaction(SIGUSR1, p, NULL)", syscall(SYS_rt_sigaction, SIGUSR1, s, 0, 8));
            EXPECT_EFAULT("rt_sigprocmask(SIG_BLOCK, NULL, p)", syscall(SYS_rt_sigprocmask, SIG_BLOCK, 0, s, 8));
            EXPECT_EFAULT("rt_sigprocmask(SIG_BLOCK, p, NULL)", syscall(SYS_rt_sigprocmask, SIG_BLOCK, s, 0, 8));
            EXPECT_EFAULT("openat(AT_FDCWD, p)", syscall(SYS_openat, AT_FDCWD, s, O_RDONLY, 0));
            EXPECT_EFAULT("newfstatat(AT_FDCWD, \".\", p)", syscall(SYS_newfstatat, AT_FDCWD, ".", s, 0));
            EXPECT_EFAULT("execve(p, NULL, NULL)", syscall(SYS_execve, s, 0, 0));
            errno = 0;
            snprintf(n2, sizeof n2, "alive-after %s", name);
            if (work(0) == expect) n_pass++;
            else fail(n2, "checksum changed");
        }
    }
    out("probed %d ferrite ranges\n", nferrite);
    if (shmid >= 0) shmctl(shmid, IPC_RMID, NULL);
    if (uffd >= 0) close(uffd);
    if (nferrite == 0) fail("ferrite-ranges", "no ferrite memory found below 2^47 (harness input?)");

    /* Informational: plain loads from ferrite's memory (one forked child per range). */
    {
        int loaded = 0, faulted = 0;
        for (int i = 0; i < n_ferrite_starts; i++) {
            int st = in_child(load_byte, (void *)ferrite_starts[i]);
            if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0) loaded++;
            else faulted++;
        }
        out("note: loads from ferrite's memory: %d succeeded, %d faulted (a kernel would fault on all: "
            "guest addresses are host addresses, so plain loads reach ferrite's memory by design)\n",
            loaded, faulted);
    }

    /* Huge ranges. */
    errno = 0;
    if (mprotect(NULL, 1ul << 47, PROT_NONE) == -1 && errno == ENOMEM) pass("mprotect-huge", "ENOMEM");
    else fail("mprotect-huge", "got %s, want ENOMEM", errno ? strerror(errno) : "success");
    errno = 0;
    if (madvise(NULL, 1ul << 47, MADV_NORMAL) == -1 && errno == ENOMEM) pass("madvise-huge", "ENOMEM");
    else fail("madvise-huge", "got %s, want ENOMEM", errno ? strerror(errno) : "success");
    if (work(0) == expect) pass("alive-after-huge", "checksum %#lx", expect);
    else fail("alive-after-huge", "checksum changed");
    check_status("mmap-fixed-huge", in_child(huge_map_fixed, NULL), 0, 0);
    check_status("mremap-fixed-huge", in_child(huge_mremap_fixed, NULL), 0, 0);
    check_status("munmap-2^47", in_child(do_munmap_all, (void *)(1ul << 47)), SIGSEGV, 0);
    check_status("munmap-2^48", in_child(do_munmap_all, (void *)(1ul << 48)), SIGSEGV, 0);
    check_status("mprotect-text-to-top", in_child(do_mprotect_text, NULL), SIGSEGV, 0);

    char *m = malloc(1 << 20);
    memset(m, 1, 1 << 20);
    free(m);
    out("final checksum %#lx\n", work(3));
    return finish("attack");
}

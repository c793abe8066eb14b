/* fuzz.c — scenario 7: syscall argument fuzzing (arm64 only).
 *
 *   fuzz SEED CALLS [trace]
 *   environment: CONTAINMENT_FUZZ_SKIP=nr[,nr…] leaves those calls out
 *
 * Makes CALLS random system calls (xorshift PRNG seeded by SEED), chosen from
 * the arm64 calls ferrite implements (syscall-tables/aarch64.tbl, policy
 * pass/translate/emulate) minus those that would legitimately hurt the
 * program itself or the host, plus a few unassigned numbers (which must give
 * exactly -ENOSYS). Arguments are drawn from: 0, -1, small integers, huge
 * lengths, random 64-bit values, NULL, an unmapped page, a kernel-space
 * address, pointers into a 64 KiB scratch buffer (random bytes with a few
 * iovec-like {pointer, length} pairs and file names), a pointer just past
 * its end, pointers into a 1 MiB "arena" the memory calls may freely remap,
 * and file descriptors {-1, AT_FDCWD, 0, 3..20, 1000, a file, a pipe, a
 * socket}. Sanitised, so the run stays meaningful:
 *   - never: exit*, execve*, clone*, kill-family, rt_sigreturn, setrlimit,
 *     setitimer, timer_create, mq_open/mq_notify, shmget/msgget/semget,
 *     add_key/request_key (objects outliving the run), sync, mlockall;
 *   - fds 1 and 2 are never passed (stdout carries the report), 0..2 are
 *     never closed or dup'ed onto, close_range starts at 3;
 *   - munmap/mremap/mprotect/madvise/mbind/mmap(MAP_FIXED) only target the
 *     arena or addresses that cannot hold guest memory; brk only 0, -1,
 *     small or huge values; MAP_POPULATE/MAP_LOCKED only for <= 1 MiB;
 *   - rt_sigaction installs only SIG_IGN and never touches SIGALRM; sigmask
 *     arguments of sigsuspend/ppoll/pselect6/epoll_pwait* never block SIGALRM;
 *     the signal mask is restored after every call; prctl options come from
 *     a harmless list (no PR_SET_SECCOMP, PR_SET_MM, PR_SET_TSC…);
 *   - socket()/socketpair() only for AF_UNIX (or invalid domains);
 *   - fcntl F_SETOWN/F_SETOWN_EX/F_SETSIG become F_GETFL.
 * A 20 ms interval timer (SIGALRM, handler without SA_RESTART) ends calls
 * that would block forever with EINTR. When started as root the program
 * first becomes nobody (65534), so that whatever slips through cannot harm
 * the host; the harness runs it in a scratch directory with RLIMIT_FSIZE set.
 * Every 100 calls a 64 KiB canary region and a static one are verified, and
 * so is the identity of stdout. At the end it prints a histogram (successes
 * and per-errno counts) and "ok". Errors: an errno outside 1..133 in the
 * kernel-internal range 512..530 (ERESTART* leaking), a canary change, an
 * unassigned number not giving ENOSYS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#ifndef __aarch64__
#error "fuzz.c uses arm64 syscall numbers"
#endif

static long raw6(long n, long a, long b, long c, long d, long e, long f) {
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    register long x5 __asm__("x5") = f;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory", "cc");
    return x0;
}

static void out(const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof buf - 1) n = sizeof buf - 1;
    ssize_t w = write(1, buf, n);
    (void)w;
}

/* The candidate calls: arm64 numbers with a policy other than enosys. */
static const int calls[] = {
    5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 19, 20, 21, 22, 23, 24, 25, 27, 28, 29, 30, 31,
    32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56,
    57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80,
    82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 95, 96, 98, 101, 102, 108, 109, 110, 111, 112, 113,
    114, 115, 116, 118, 119, 120, 121, 122, 123, 124, 125, 126, 127, 128, 132, 133, 134, 135, 136,
    137, 140, 141, 143, 144, 145, 146, 147, 148, 149, 150, 151, 152, 153, 154, 155, 156, 157, 158,
    159, 160, 161, 162, 163, 165, 166, 167, 168, 169, 170, 171, 172, 173, 174, 175, 176, 177, 178,
    179, 181, 182, 183, 185, 187, 188, 189, 192, 193, 195, 198, 199, 200, 201, 202, 203, 204, 205,
    206, 207, 208, 209, 210, 211, 212, 213, 214, 215, 216, 219, 222, 223, 224, 225, 226, 227, 228,
    229, 231, 232, 233, 235, 236, 237, 238, 239, 242, 243, 260, 261, 263, 264, 266, 267, 269, 270,
    271, 272, 274, 275, 276, 278, 279, 283, 284, 285, 286, 287, 291, 428, 429, 430, 431, 432, 433,
    434, 436, 437, 438, 439, 440, 441, 442, 443, 447, 448, 449, 450, 451, 452, 454, 455, 456, 457,
    458, 459, 460, 461, 463, 464, 465, 466, 467, 468, 469, 470,
    /* unassigned on arm64: must be -ENOSYS */
    -244, -300, -350, -402, -1000, -4096,
};
#define NCALLS ((int)(sizeof calls / sizeof calls[0]))

static uint64_t rs;
static uint64_t rnd(void) {
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return rs;
}

#define SCRATCH (64 * 1024)
#define ARENA (1024 * 1024)
static unsigned char *scratch, *arena, *hole, *canary;
static long pg;
static int file_fd, pipe_r, pipe_w, sock_fd;
static volatile unsigned long alarms;
static unsigned char static_canary[4096];
static struct stat stdout_st;

static void on_alarm(int s) { (void)s; alarms++; }

static unsigned char canary_byte(long i) { return (unsigned char)(i * 2654435761u >> 13); }

static void fill_scratch(long off, long len) {
    for (long i = off; i < off + len; i++) {
        unsigned char b = (unsigned char)rnd();
        scratch[i] = b == '/' ? 'x' : b;
    }
    /* iovec-like pairs and names in the first 4 KiB */
    if (off == 0) {
        for (int i = 0; i < 64; i++) {
            uint64_t *slot = (uint64_t *)(scratch + 16 * i);
            if (rnd() % 3 == 0) {
                slot[0] = (uint64_t)(scratch + 8192 + rnd() % (SCRATCH - 16384));
                slot[1] = rnd() % 4096;
            }
        }
        static const char *names[] = {"fz0", "fz1", ".", "..", "fuzz.dat", "", "fzdir"};
        for (int i = 0; i < 7; i++) strcpy((char *)scratch + 1024 + 32 * i, names[i]);
    }
}

static long pick_fd(void) {
    static const long fixed[] = {-1, -100 /* AT_FDCWD */, 0, 1000};
    switch (rnd() % 5) {
    case 0: return fixed[rnd() % 4];
    case 1: return 3 + rnd() % 18;
    case 2: return file_fd;
    case 3: return rnd() & 1 ? pipe_r : pipe_w;
    default: return sock_fd;
    }
}

static long pick_arg(void) {
    static const uint64_t huge[] = {1ul << 40, 1ul << 63, ~0ul >> 1, 0x7fffffff, 0xffffffff, 1ul << 47,
                                    (1ul << 47) - 4096, ~0ul - 4095};
    switch (rnd() % 16) {
    case 0: return 0;
    case 1: return -1;
    case 2: case 3: return rnd() % 64;
    case 4: return huge[rnd() % 8];
    case 5: return (long)rnd();
    case 6: return (long)(hole + (rnd() % (16 * 4096)));
    case 7: return (long)(0xffff800000000000ul + (rnd() % 4096));
    case 8: case 9: return (long)(scratch + (rnd() % SCRATCH));
    case 10: return (long)(scratch + 1024 + 32 * (rnd() % 7)); /* a name */
    case 11: return (long)(scratch + SCRATCH - (rnd() % 16)); /* at or just before the end */
    case 12: case 13: return pick_fd();
    case 14: return (long)(arena + (rnd() % ARENA));
    default: return (long)(1ul << (rnd() % 64)) | (rnd() % 8);
    }
}

/* An address/length pair that cannot touch the program's own memory. */
static void pick_mm(long *addr, long *len) {
    switch (rnd() % 4) {
    case 0:
    case 1: {
        long off = (rnd() % (ARENA / 4096)) * 4096;
        *addr = (long)(arena + off);
        long l = rnd() % 3 ? (long)(rnd() % (ARENA - off + 1)) : pick_arg();
        if (l < 0 || l > ARENA - off) l = ARENA - off;
        *len = l;
        break;
    }
    case 2: *addr = (long)(rnd() % 16) * 4096; *len = (long)(rnd() % 0x10000); break;
    default:
        *addr = (long)(rnd() & 1 ? 0xffff800000000000ul : (1ul << 47) + (rnd() % 64) * 4096);
        *len = pick_arg();
    }
}

static int in_arena(long a) { return a >= (long)arena && a < (long)(arena + ARENA); }

static unsigned char safe_mask_slot[64] __attribute__((aligned(16)));
static long safe_mask(void) {
    uint64_t m = rnd() & ~(1ul << (SIGALRM - 1));
    memcpy(safe_mask_slot, &m, 8);
    return (long)safe_mask_slot;
}

static int weird, enosys_bad, canary_bad;
static unsigned long success, errs[4096];

static void check_canaries(long i) {
    for (long j = 0; j < SCRATCH; j++)
        if (canary[j] != canary_byte(j)) {
            out("FAIL canary: byte %ld of the canary region changed (after call %ld)\n", j, i);
            canary_bad++;
            break;
        }
    for (int j = 0; j < 4096; j++)
        if (static_canary[j] != (unsigned char)(j * 7 + 1)) {
            out("FAIL canary: static canary byte %d changed (after call %ld)\n", j, i);
            canary_bad++;
            break;
        }
    struct stat st;
    if (fstat(1, &st) != 0 || st.st_ino != stdout_st.st_ino || st.st_dev != stdout_st.st_dev) {
        out("FAIL stdout: fd 1 is not the original stdout any more (after call %ld)\n", i);
        canary_bad++;
    }
}

int main(int argc, char **argv) {
    unsigned long seed = argc > 1 ? strtoul(argv[1], NULL, 0) : 1;
    long ncalls = argc > 2 ? atol(argv[2]) : 20000;
    int trace = argc > 3 && strcmp(argv[3], "trace") == 0;
    /* CONTAINMENT_FUZZ_SKIP=nr,nr…: leave these calls out (to look past a known bug). */
    static int skip[64];
    int nskip = 0;
    for (const char *e = getenv("CONTAINMENT_FUZZ_SKIP"); e && *e && nskip < 64;) {
        skip[nskip++] = atoi(e);
        e = strchr(e, ',');
        if (e) e++;
    }
    rs = seed * 0x9e3779b97f4a7c15ul + 0x1234567;
    if (!rs) rs = 1;
    pg = sysconf(_SC_PAGESIZE);
    setvbuf(stdout, NULL, _IONBF, 0);
    if (fstat(1, &stdout_st) != 0) return 2;

    if (geteuid() == 0) {
        if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0) {
            out("FAIL cannot drop root: %s\n", strerror(errno));
            return 1;
        }
        out("fuzz: dropped root, running as uid %d\n", (int)getuid());
    }
    for (int s = 1; s < 65; s++) {
        if (s == SIGKILL || s == SIGSTOP || s == SIGALRM || s == SIGSEGV || s == SIGBUS || s == SIGILL ||
            s == SIGFPE || s == SIGTRAP || s == SIGABRT)
            continue;
        signal(s, SIG_IGN);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm; /* no SA_RESTART: blocking calls end with EINTR */
    sigaction(SIGALRM, &sa, NULL);

    scratch = mmap(NULL, SCRATCH + pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(scratch + SCRATCH, pg); /* just past the end: unmapped */
    arena = mmap(NULL, ARENA, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    canary = mmap(NULL, SCRATCH, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    /* last: nothing of ours may land in the hole afterwards */
    hole = mmap(NULL, 16 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(hole, 16 * 4096);
    for (long j = 0; j < SCRATCH; j++) canary[j] = canary_byte(j);
    for (int j = 0; j < 4096; j++) static_canary[j] = (unsigned char)(j * 7 + 1);
    fill_scratch(0, SCRATCH);
    file_fd = open("fuzz.dat", O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (file_fd < 0 || write(file_fd, scratch, 8192) != 8192) {
        out("FAIL scratch file: %s\n", strerror(errno));
        return 1;
    }
    int p[2];
    if (pipe2(p, O_NONBLOCK) != 0) return 1;
    pipe_r = p[0];
    pipe_w = p[1];
    if (write(pipe_w, "pipe data", 9) != 9) return 1;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0) return 1;
    sock_fd = sv[0];
    out("fuzz: seed %lu, %ld calls, scratch %p arena %p\n", seed, ncalls, (void *)scratch, (void *)arena);

    struct itimerval it = {{0, 20000}, {0, 20000}};
    setitimer(ITIMER_REAL, &it, NULL);
    uint64_t empty = 0;

    static const long prctl_ok[] = {1, 2, 3, 4, 7, 8, 13, 15, 16, 23, 27, 29, 30, 36, 37, 38, 39, 41, 42, 51, 54, 55, 56, 0x1234, 99999};

    for (long i = 0; i < ncalls; i++) {
        if (i % 64 == 63) {
            long off = (rnd() % (SCRATCH / 4096)) * 4096;
            fill_scratch(off, 4096);
        }
        int nr = calls[rnd() % NCALLS];
        int skipped = 0;
        for (int k = 0; k < nskip; k++) skipped |= skip[k] == nr;
        if (skipped) continue;
        int unassigned = nr < 0;
        if (unassigned) nr = -nr;
        long a[6];
        for (int k = 0; k < 6; k++) a[k] = pick_arg();
        /* stdout/stderr are never touched; 0..2 never closed or replaced */
        /* (fd arguments are 32-bit: compare the low half, as the kernel reads it) */
        for (int k = 0; k < 3; k++)
            if ((unsigned)a[k] == 1 || (unsigned)a[k] == 2) a[k] = 1000;
        switch (nr) {
        case 57: /* close */
            if ((unsigned)a[0] <= 2) a[0] = 1000;
            break;
        case 24: /* dup3 */
            if ((unsigned)a[1] <= 2) a[1] = 1000;
            break;
        case 436: /* close_range */
            if ((unsigned)a[0] < 3) a[0] = 3;
            break;
        case 25: /* fcntl */
            if (a[1] == F_SETOWN || a[1] == F_SETSIG || a[1] == 15 /* F_SETOWN_EX */) a[1] = F_GETFL;
            break;
        case 134: /* rt_sigaction */
            if (a[1] != 0) {
                if ((a[0] & 0xff) == SIGALRM || a[0] == SIGALRM) a[1] = 0;
                else {
                    static uint64_t act[4];
                    act[0] = (uint64_t)SIG_IGN;
                    act[1] = rnd() & ~0x04000000ul; /* no SA_RESTORER */
                    act[2] = 0;
                    act[3] = rnd();
                    a[1] = (long)act;
                }
            }
            break;
        case 133: /* rt_sigsuspend */
            a[0] = safe_mask();
            a[1] = 8;
            break;
        case 73: /* ppoll */
            a[3] = rnd() & 1 ? 0 : safe_mask();
            break;
        case 72: { /* pselect6 */
            static uint64_t ss[2];
            ss[0] = rnd() & 1 ? 0 : (uint64_t)safe_mask();
            ss[1] = 8;
            a[5] = rnd() & 1 ? 0 : (long)ss;
            break;
        }
        case 22:  /* epoll_pwait */
        case 441: /* epoll_pwait2 */
            a[4] = rnd() & 1 ? 0 : safe_mask();
            break;
        case 167: /* prctl */
            a[0] = prctl_ok[rnd() % (sizeof prctl_ok / sizeof prctl_ok[0])];
            break;
        case 261: /* prlimit64: reads only */
            a[2] = 0;
            break;
        case 198: /* socket */
        case 199: /* socketpair */
            a[0] = rnd() & 1 ? AF_UNIX : 46 + (long)(rnd() % 100);
            break;
        case 214: { /* brk */
            static const long b[] = {0, -1, 5, 4096, 1l << 50, -4096};
            a[0] = b[rnd() % 6];
            break;
        }
        case 215: /* munmap */
        case 226: /* mprotect */
        case 233: /* madvise */
        case 235: /* mbind */
        case 450: /* set_mempolicy_home_node */
            pick_mm(&a[0], &a[1]);
            break;
        case 216: /* mremap */
            pick_mm(&a[0], &a[1]);
            if ((a[3] & 2) /* MREMAP_FIXED */ && !in_arena(a[4])) a[4] = (long)(arena + (rnd() % (ARENA / 4096)) * 4096);
            break;
        case 222: /* mmap */
            if ((a[3] & MAP_FIXED) && !in_arena(a[0])) {
                if (rnd() & 1) a[3] &= ~MAP_FIXED;
                else pick_mm(&a[0], &a[1]);
            }
            if ((unsigned long)a[1] > (1ul << 20)) a[3] &= ~(MAP_POPULATE | MAP_LOCKED);
            break;
        }
        if (trace) out("call %ld: %d(%#lx, %#lx, %#lx, %#lx, %#lx, %#lx)\n", i, nr, a[0], a[1], a[2], a[3], a[4], a[5]);
        long r = raw6(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
        raw6(135 /* rt_sigprocmask */, SIG_SETMASK, (long)&empty, 0, 8, 0, 0);
        if (trace) out("  = %ld\n", r);
        if (r < 0 && r >= -4095) {
            long e = -r;
            errs[e]++;
            if (e >= 512 && e <= 530) {
                out("FAIL errno: call %ld: syscall %d returned kernel-internal errno %ld\n", i, nr, e);
                weird++;
            }
            if (unassigned && e != ENOSYS) {
                out("FAIL enosys: unassigned syscall %d returned errno %ld\n", nr, e);
                enosys_bad++;
            }
        } else {
            success++;
            if (unassigned) {
                out("FAIL enosys: unassigned syscall %d returned %ld\n", nr, r);
                enosys_bad++;
            }
        }
        if (i % 100 == 99) check_canaries(i);
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    check_canaries(ncalls);

    out("fuzz: %ld calls, %lu alarms; results: success %lu", ncalls, alarms, success);
    for (int e = 1; e < 4096; e++)
        if (errs[e]) out(", %s %lu", strerrorname_np(e) ? strerrorname_np(e) : "E?", errs[e]);
    out("\n");
    char *m = malloc(100000);
    memset(m, 3, 100000);
    long sum = 0;
    for (int j = 0; j < 100000; j++) sum += m[j];
    free(m);
    if (sum != 300000) {
        out("FAIL alive: malloc'd memory reads back wrong\n");
        return 1;
    }
    if (weird || enosys_bad || canary_bad) {
        out("fuzz: %d leaked errnos, %d bad ENOSYS, %d canary/stdout failures\n", weird, enosys_bad, canary_bad);
        return 1;
    }
    out("ok\n");
    return 0;
}

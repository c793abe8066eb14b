/* sysinfo.c — identity, time, limits, randomness, the auxiliary vector and
 * /proc/self, reduced to facts that are the same on x86-64 and arm64.
 * (uname's machine field, AT_HWCAP and the like legitimately differ and are
 * only checked for plausibility, never printed.)
 * Exit status: number of failed checks.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

/* "foo.arm64-static" -> "foo" */
static void print_base(const char *label, const char *path)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    printf("%s: %.*s\n", label, (int)strcspn(b, "."), b);
}

static int64_t ns(struct timespec t) { return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec; }

int main(int argc, char **argv)
{
    (void)argc;
    struct utsname u;
    CHECK(uname(&u) == 0);
    printf("uname: sysname=%s machine-nonempty=%d release-nonempty=%d\n", u.sysname,
           u.machine[0] != 0, u.release[0] != 0);

    printf("ids: pid>1=%d ppid>0=%d uid==euid=%d gid==egid=%d tid==pid=%d\n", getpid() > 1,
           getppid() > 0, getuid() == geteuid(), getgid() == getegid(), gettid() == getpid());
    printf("getauxval: pagesz=%lu uid-match=%d euid-match=%d secure=%lu random-set=%d entry-set=%d phdr-set=%d hwcap-queried=1\n",
           getauxval(AT_PAGESZ), getauxval(AT_UID) == getuid(), getauxval(AT_EUID) == geteuid(),
           getauxval(AT_SECURE), getauxval(AT_RANDOM) != 0, getauxval(AT_ENTRY) != 0,
           getauxval(AT_PHDR) != 0);
    (void)getauxval(AT_HWCAP);
    const char *execfn = (const char *)getauxval(AT_EXECFN);
    if (execfn)
        print_base("AT_EXECFN", execfn);
    else
        printf("AT_EXECFN: missing\n");
    print_base("argv[0]", argv[0]);
    printf("sysconf: pagesize=%ld nprocs>0=%d clk_tck=%ld open_max>=64=%d\n",
           sysconf(_SC_PAGESIZE), sysconf(_SC_NPROCESSORS_ONLN) > 0, sysconf(_SC_CLK_TCK),
           sysconf(_SC_OPEN_MAX) >= 64);

    /* /proc/self */
    char link[4096];
    ssize_t n = readlink("/proc/self/exe", link, sizeof link - 1);
    if (n > 0) {
        link[n] = 0;
        print_base("/proc/self/exe", link);
    } else {
        printf("/proc/self/exe: unreadable\n");
    }
    int fd = open("/proc/self/cmdline", O_RDONLY);
    char cmd[4096];
    n = fd >= 0 ? read(fd, cmd, sizeof cmd) : -1;
    if (fd >= 0)
        close(fd);
    printf("/proc/self/cmdline:");
    for (ssize_t i = 0, start = 0; i < n; i++)
        if (cmd[i] == 0) {
            if (start == 0) { /* argv[0]: basename without suffix */
                const char *s = cmd;
                const char *b = strrchr(s, '/');
                b = b ? b + 1 : s;
                printf(" [%.*s]", (int)strcspn(b, "."), b);
            } else {
                printf(" [%s]", cmd + start);
            }
            start = i + 1;
        }
    printf("\n");
    fd = open("/proc/self/maps", O_RDONLY);
    int has_stack = 0, lines = 0;
    if (fd >= 0) {
        static char maps[1 << 16];
        ssize_t m = read(fd, maps, sizeof maps - 1);
        close(fd);
        if (m > 0) {
            maps[m] = 0;
            has_stack = strstr(maps, "[stack]") != NULL;
            for (char *p = maps; *p; p++)
                lines += *p == '\n';
        }
    }
    printf("/proc/self/maps: has [stack]=%d several lines=%d\n", has_stack, lines > 3);
    struct stat st;
    printf("/proc/self/fd/1 exists=%d\n", stat("/proc/self/fd/1", &st) == 0);

    /* time */
    struct timespec m1, m2, r1, res;
    CHECK(clock_gettime(CLOCK_MONOTONIC, &m1) == 0);
    CHECK(clock_gettime(CLOCK_REALTIME, &r1) == 0);
    struct timeval tv;
    CHECK(gettimeofday(&tv, NULL) == 0);
    time_t t = time(NULL);
    /* time() reads the kernel's coarse clock (updated once per tick), which can
     * still show the previous second just after CLOCK_REALTIME crossed it. */
    printf("time: realtime after 2020=%d gettimeofday~realtime=%d time~realtime=%d\n",
           r1.tv_sec > 1577836800, tv.tv_sec - r1.tv_sec <= 2 && tv.tv_sec >= r1.tv_sec,
           t - r1.tv_sec <= 2 && t >= r1.tv_sec - 1);
    struct timespec sl = {0, 20 * 1000 * 1000};
    CHECK(nanosleep(&sl, NULL) == 0);
    CHECK(clock_gettime(CLOCK_MONOTONIC, &m2) == 0);
    int64_t el = ns(m2) - ns(m1);
    printf("nanosleep 20ms: elapsed>=20ms=%d elapsed<5s=%d\n", el >= 20000000, el < 5000000000LL);
    CHECK(clock_getres(CLOCK_MONOTONIC, &res) == 0);
    printf("clock_getres monotonic <= 1ms: %d\n", ns(res) <= 1000000);
    struct timespec c1, c2;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    volatile uint64_t spin = 0;
    for (int i = 0; i < 3000000; i++)
        spin += (uint64_t)i;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c2);
    printf("cpu time advances: %d\n", ns(c2) >= ns(c1));
    int mono_ok = 1;
    struct timespec prev = m2;
    for (int i = 0; i < 10000; i++) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        mono_ok &= ns(now) >= ns(prev);
        prev = now;
    }
    printf("monotonic never goes back: %d\n", mono_ok);
    struct tms tm;
    printf("times() works: %d\n", times(&tm) != (clock_t)-1);
    struct tm g;
    time_t fixed = 1234567890;
    gmtime_r(&fixed, &g);
    char tbuf[64];
    strftime(tbuf, sizeof tbuf, "%Y-%m-%d %H:%M:%S %a %j", &g);
    printf("gmtime(1234567890): %s\n", tbuf);
    printf("mktime/timegm roundtrip: %d\n", timegm(&g) == fixed);

    /* limits & resources */
    struct rlimit rl;
    CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    printf("RLIMIT_NOFILE cur<=max=%d\n", rl.rlim_cur <= rl.rlim_max);
    struct rlimit nrl = {rl.rlim_cur > 100 ? 100 : rl.rlim_cur, rl.rlim_max};
    CHECK(setrlimit(RLIMIT_NOFILE, &nrl) == 0);
    struct rlimit chk;
    getrlimit(RLIMIT_NOFILE, &chk);
    printf("setrlimit NOFILE roundtrip: %d\n", chk.rlim_cur == nrl.rlim_cur);
    errno = 0;
    int fds_ok = 1, opened = 0;
    for (int i = 0; i < 200; i++) {
        int f = open("/dev/null", O_RDONLY);
        if (f < 0) {
            fds_ok = errno == EMFILE;
            break;
        }
        opened++;
    }
    printf("hit EMFILE at the limit: %d\n", fds_ok && opened < 100);
    for (int f = 3; f < 100; f++)
        close(f);
    CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
    struct rusage ru;
    printf("getrusage ok: %d\n", getrusage(RUSAGE_SELF, &ru) == 0);
    CHECK(getrlimit(RLIMIT_STACK, &rl) == 0);
    printf("stack limit nonzero: %d\n", rl.rlim_cur > 0);
    struct sysinfo si;
    int si_ok = sysinfo(&si) == 0; /* before reading si: argument order is unspecified */
    printf("sysinfo ok: %d totalram>0=%d\n", si_ok, si_ok && si.totalram > 0);

    /* random */
    unsigned char r1b[64], r2b[64];
    ssize_t g1 = getrandom(r1b, sizeof r1b, 0), g2 = getrandom(r2b, sizeof r2b, GRND_NONBLOCK);
    printf("getrandom: %zd %zd differ=%d\n", g1, g2, memcmp(r1b, r2b, sizeof r1b) != 0);

    /* process attributes */
    CHECK(prctl(PR_SET_NAME, "ferrite-test", 0, 0, 0) == 0);
    char name[32] = {0};
    CHECK(prctl(PR_GET_NAME, name, 0, 0, 0) == 0);
    printf("prctl name: %s\n", name);
    mode_t oldmask = umask(077);
    mode_t back = umask(oldmask);
    printf("umask roundtrip: %03o\n", (unsigned)back);
    cpu_set_t cs;
    CPU_ZERO(&cs);
    int aff_ok = sched_getaffinity(0, sizeof cs, &cs) == 0;
    printf("sched_getaffinity: ok=%d count>0=%d\n", aff_ok, CPU_COUNT(&cs) > 0);
    printf("sched_yield: %d\n", sched_yield());
    errno = 0;
    int prio = getpriority(PRIO_PROCESS, 0);
    printf("getpriority: ok=%d\n", !(prio == -1 && errno != 0));
    char host[256];
    printf("gethostname ok: %d\n", gethostname(host, sizeof host) == 0);
    char cwd[4096];
    int cwd_ok = getcwd(cwd, sizeof cwd) != NULL;
    printf("getcwd ok: %d absolute=%d\n", cwd_ok, cwd_ok && cwd[0] == '/');
    printf("isatty(stdout)=%d (the runner uses pipes)\n", isatty(1));
    /* personality: query, set ADDR_NO_RANDOMIZE | READ_IMPLIES_EXEC, read back, reset. */
    int pers0 = personality(0xffffffff);
    int old_pers = personality(ADDR_NO_RANDOMIZE | READ_IMPLIES_EXEC);
    int pers1 = personality(0xffffffff);
    personality(pers0);
    printf("personality: %#x old=%#x now=%#x back=%#x\n", pers0, old_pers, pers1,
           personality(0xffffffff));

    printf("sysinfo: %s (%d failures)\n", failures ? "FAIL" : "ok", failures);
    return failures;
}

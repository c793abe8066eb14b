/* probe.c — prints what the ferrite options -r, -seed and -one-insn-per-tb change,
 * for tests/options.rs.
 *   probe uname     the release and machine fields of uname(2)
 *   probe exec-uname  the same, after an execve of itself
 *   probe random    AT_RANDOM's 16 bytes, getrandom output (small, large, after a
 *                   fork in parent and child), and getrandom's flag checks
 *   probe work      a little computation with branches, loads and calls
 *   probe strace    system calls with fixed arguments, for -strace's format; exits 3
 *   probe segv      a store to address 8 (SIGSEGV)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

static void hex(const char *what, const unsigned char *p, size_t n)
{
    printf("%s ", what);
    for (size_t i = 0; i < n; i++)
        printf("%02x", p[i]);
    printf("\n");
}

static uint64_t fnv(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static void on_signal(int sig) { (void)sig; }

static int fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (!strcmp(mode, "uname")) {
        struct utsname u;
        if (uname(&u) != 0)
            return 1;
        printf("release=%s\nmachine=%s\n", u.release, u.machine);
        return 0;
    }
    if (!strcmp(mode, "exec-uname")) {
        /* the exec'd program must get the same options */
        char *args[] = {"probe", "uname", NULL};
        execv("/proc/self/exe", args);
        perror("execv");
        return 1;
    }
    if (!strcmp(mode, "random")) {
        hex("at_random", (const unsigned char *)getauxval(AT_RANDOM), 16);
        unsigned char b[40];
        ssize_t n = getrandom(b, sizeof b, 0);
        printf("getrandom 40: %zd\n", n);
        hex("bytes", b, sizeof b);
        static unsigned char big[100000];
        n = getrandom(big, sizeof big, GRND_NONBLOCK);
        printf("getrandom 100000: %zd fnv=%016llx\n", n, (unsigned long long)fnv(big, sizeof big));
        n = getrandom(b, 8, GRND_RANDOM | GRND_INSECURE);
        printf("RANDOM|INSECURE: %zd %s\n", n, n < 0 && errno == EINVAL ? "EINVAL" : "?");
        n = getrandom(b, 8, 0x80);
        printf("unknown flag: %zd %s\n", n, n < 0 && errno == EINVAL ? "EINVAL" : "?");
        void *volatile bad = (void *)8; /* unmapped: the kernel answers EFAULT */
        n = getrandom(bad, 8, 0);
        printf("bad buffer: %zd %s\n", n, n < 0 && errno == EFAULT ? "EFAULT" : "?");
        fflush(stdout);
        pid_t c = fork();
        getrandom(b, 8, 0);
        if (c == 0) {
            hex("child", b, 8);
            fflush(stdout);
            _exit(0);
        }
        waitpid(c, NULL, 0); /* the child prints first */
        hex("parent", b, 8);
        return 0;
    }
    if (!strcmp(mode, "work")) {
        unsigned char buf[4096];
        for (int i = 0; i < (int)sizeof buf; i++)
            buf[i] = (unsigned char)(i * 7 + (i >> 3));
        printf("fnv=%016llx fib=%d\n", (unsigned long long)fnv(buf, sizeof buf), fib(20));
        return 0;
    }
    if (!strcmp(mode, "strace")) {
        /* raw calls, so the argument registers are exactly these */
        syscall(SYS_openat, (long)AT_FDCWD, "/nonexistent/x", O_RDONLY | O_CLOEXEC);
        syscall(SYS_openat, (unsigned)AT_FDCWD, "/nonexistent/y",
                O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
        syscall(SYS_close, -1);
        syscall(SYS_faccessat, (long)AT_FDCWD, "/", F_OK, 0);
        void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        syscall(SYS_munmap, p, 4096);
        syscall(SYS_mprotect, 0, 0, PROT_NONE);
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigaction(SIGUSR1, &sa, NULL);
        syscall(SYS_kill, getpid(), SIGUSR1);
        char *zargv[] = {"z", NULL};
        syscall(SYS_execve, "/nonexistent/z", zargv, NULL);
        syscall(SYS_write, 1, "hi\n", 3);
        syscall(SYS_exit_group, 3);
    }
    if (!strcmp(mode, "segv")) {
        volatile int *volatile bad = (int *)8;
        *bad = 1;
        return 0;
    }
    fprintf(stderr, "usage: probe uname|random|work|strace|segv\n");
    return 2;
}

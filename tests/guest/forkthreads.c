/* forkthreads.c — fork and vfork from a multi-threaded parent.
 *
 * The parent first starts helper threads (one blocked in read(), one computing),
 * then forks in several ways; each child ends in a different way and the parent
 * checks the wait status: the thread-only `exit` system call (what Go's child does
 * when its exec fails: exit status 253), _exit, exit with atexit handlers, exec
 * failure, a failed exec followed by a successful one, death by a signal sent by
 * the parent or raised by the child, signal masks and handlers inherited across
 * the fork, a child that starts and joins threads of its own, a raw
 * clone(CLONE_VFORK|CLONE_VM|SIGCHLD) child, and a grandchild forked by a child.
 * Children report through pipes; the parent prints only what it read.
 * Exit status: number of failed checks.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static int block_pipe[2];
static atomic_int spin_stop;
static atomic_ulong spin_count;

static void *blocked_thread(void *arg)
{
    (void)arg;
    char c;
    while (read(block_pipe[0], &c, 1) < 0 && errno == EINTR)
        ;
    return NULL;
}

static void *spinning_thread(void *arg)
{
    (void)arg;
    while (!atomic_load(&spin_stop))
        atomic_fetch_add(&spin_count, 1);
    return NULL;
}

static void describe(const char *what, int st)
{
    if (WIFEXITED(st))
        printf("%s: exited %d\n", what, WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        printf("%s: killed by signal %d\n", what, WTERMSIG(st));
    else
        printf("%s: status %#x\n", what, st);
}

static int wait_for(pid_t c)
{
    int st = -1;
    pid_t w;
    while ((w = waitpid(c, &st, 0)) < 0 && errno == EINTR)
        ;
    CHECK(w == c);
    return st;
}

/* Read everything a child wrote into a pipe (until EOF). */
static void read_report(int fd, char *buf, size_t size)
{
    size_t got = 0;
    ssize_t r;
    while (got + 1 < size && (r = read(fd, buf + got, size - 1 - got)) != 0) {
        if (r < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        got += (size_t)r;
    }
    buf[got] = 0;
}

static void say(int fd, const char *s)
{
    ssize_t r = write(fd, s, strlen(s));
    (void)r;
}

static int report_fd = -1;
static void at_exit_handler(void)
{
    if (report_fd >= 0)
        say(report_fd, "atexit ran;");
}

static volatile sig_atomic_t got_usr1;
static void on_usr1(int sig)
{
    (void)sig;
    got_usr1++;
}

static void *child_worker(void *arg)
{
    return (void *)((uintptr_t)arg * 2);
}

/* Fork a child running `body(pipe write end)`; print its report and status. */
static int run_child(const char *name, void (*body)(int))
{
    int p[2];
    CHECK(pipe(p) == 0);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        close(p[0]);
        body(p[1]);
        _exit(99);
    }
    CHECK(c > 0);
    close(p[1]);
    char buf[512];
    read_report(p[0], buf, sizeof buf);
    close(p[0]);
    int st = wait_for(c);
    printf("%s: report [%s]\n", name, buf);
    describe(name, st);
    return st;
}

static void body_sys_exit(int fd)
{
    say(fd, "child running;");
    close(fd);
    syscall(SYS_exit, 253);
}

static void body_underscore_exit(int fd)
{
    close(fd);
    _exit(7);
}

static void body_exit(int fd)
{
    report_fd = fd;
    atexit(at_exit_handler);
    exit(9);
}

static void body_exec_fail(int fd)
{
    char *argv[] = {"nonexistent", NULL};
    execv("/nonexistent/program", argv);
    char msg[64];
    snprintf(msg, sizeof msg, "execv failed errno=%s;", errno == ENOENT ? "ENOENT" : "other");
    say(fd, msg);
    close(fd);
    syscall(SYS_exit, 253);
}

static void body_exec_fail_then_true(int fd)
{
    char *argv[] = {"true", NULL};
    execv("/nonexistent/true", argv);
    say(fd, errno == ENOENT ? "first exec ENOENT;" : "first exec other;");
    close(fd);
    execv("/bin/true", argv);
    _exit(126);
}

static void body_raise(int fd)
{
    close(fd);
    raise(SIGTERM);
    _exit(1);
}

static void body_signals(int fd)
{
    /* The mask and the handlers are inherited from the forking thread. */
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    char msg[160];
    snprintf(msg, sizeof msg, "usr2 blocked=%d usr1 blocked=%d term blocked=%d;",
             sigismember(&cur, SIGUSR2), sigismember(&cur, SIGUSR1), sigismember(&cur, SIGTERM));
    say(fd, msg);
    raise(SIGUSR1);
    snprintf(msg, sizeof msg, "usr1 handled=%d;", (int)got_usr1);
    say(fd, msg);
    /* A blocked signal stays pending until unblocked; its default action kills. */
    raise(SIGUSR2);
    sigset_t pend;
    sigpending(&pend);
    snprintf(msg, sizeof msg, "usr2 pending=%d;", sigismember(&pend, SIGUSR2));
    say(fd, msg);
    close(fd);
    sigprocmask(SIG_UNBLOCK, &cur, NULL);
    _exit(1);
}

static void body_threads(int fd)
{
    /* A child of a threaded parent has one thread; it can start its own. */
    uintptr_t sum = 0;
    for (int i = 1; i <= 3; i++) {
        pthread_t t;
        void *r;
        if (pthread_create(&t, NULL, child_worker, (void *)(uintptr_t)i) != 0) {
            say(fd, "pthread_create failed;");
            continue;
        }
        pthread_join(t, &r);
        sum += (uintptr_t)r;
    }
    char msg[64];
    snprintf(msg, sizeof msg, "thread sum=%lu;", (unsigned long)sum);
    say(fd, msg);
    close(fd);
    /* The last thread's exit ends the process with its status. */
    syscall(SYS_exit, 5);
}

static void body_grandchild(int fd)
{
    pthread_t t;
    int gp[2];
    if (pipe(gp) != 0 || pthread_create(&t, NULL, blocked_thread, NULL) != 0) {
        say(fd, "setup failed;");
        _exit(2);
    }
    pid_t g = fork();
    if (g == 0)
        syscall(SYS_exit, 44);
    int st = -1;
    waitpid(g, &st, 0);
    char msg[64];
    snprintf(msg, sizeof msg, "grandchild exited=%d status=%d;", WIFEXITED(st), WEXITSTATUS(st));
    say(fd, msg);
    close(fd);
    /* The helper thread still blocks in read(): exit_group ends it too. */
    _exit(6);
}

/* clone(CLONE_VFORK|CLONE_VM|SIGCHLD) as Go's os/exec does it: the child runs on the
 * parent's stack until it execs or exits; the parent sleeps until then. The child
 * must not touch that stack (a libc syscall() wrapper would return through it and
 * send the parent back through the child's frames), so the child's system calls
 * are made in the same assembly block: exit(status), or execve(path) then
 * exit(253). Returns the child's pid in the parent. */
#define CLONE_VFORK_FLAGS ((long)(CLONE_VFORK | CLONE_VM | SIGCHLD))
#if defined(__aarch64__)
static long raw_vfork(const char *path, long status)
{
    static char *argv[] = {"true", NULL};
    static char *envp[] = {NULL};
    register long x0 __asm__("x0") = CLONE_VFORK_FLAGS;
    register long x1 __asm__("x1") = 0;
    register long x2 __asm__("x2") = 0;
    register long x3 __asm__("x3") = 0;
    register long x4 __asm__("x4") = 0;
    register long x8 __asm__("x8") = SYS_clone;
    register const char *p __asm__("x19") = path;
    register long st __asm__("x20") = status;
    register char **av __asm__("x21") = argv;
    register char **ev __asm__("x22") = envp;
    __asm__ volatile("svc #0\n"
                     "cbnz x0, 2f\n"
                     "cbz x19, 1f\n"
                     "mov x0, x19\n"
                     "mov x1, x21\n"
                     "mov x2, x22\n"
                     "mov x8, #221\n" /* execve */
                     "svc #0\n"
                     "1:\n"
                     "mov x0, x20\n"
                     "mov x8, #93\n" /* exit */
                     "svc #0\n"
                     "2:\n"
                     : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3), "+r"(x4), "+r"(x8)
                     : "r"(p), "r"(st), "r"(av), "r"(ev)
                     : "memory", "cc");
    return x0;
}
#elif defined(__x86_64__)
static long raw_vfork(const char *path, long status)
{
    static char *argv[] = {"true", NULL};
    static char *envp[] = {NULL};
    long ret;
    register long r10 __asm__("r10") = 0;
    register long r8 __asm__("r8") = 0;
    register const char *p __asm__("r12") = path;
    register long st __asm__("r13") = status;
    register char **av __asm__("r14") = argv;
    register char **ev __asm__("r15") = envp;
    __asm__ volatile("syscall\n"
                     "test %%rax, %%rax\n"
                     "jnz 2f\n"
                     "test %%r12, %%r12\n"
                     "jz 1f\n"
                     "mov %%r12, %%rdi\n"
                     "mov %%r14, %%rsi\n"
                     "mov %%r15, %%rdx\n"
                     "mov $59, %%eax\n" /* execve */
                     "syscall\n"
                     "1:\n"
                     "mov %%r13, %%rdi\n"
                     "mov $60, %%eax\n" /* exit */
                     "syscall\n"
                     "2:\n"
                     : "=a"(ret), "+r"(r10), "+r"(r8)
                     : "a"((long)SYS_clone), "D"(CLONE_VFORK_FLAGS), "S"(0L), "d"(0L), "r"(p),
                       "r"(st), "r"(av), "r"(ev)
                     : "rcx", "r11", "memory", "cc");
    return ret;
}
#else
#error "unsupported architecture"
#endif

int main(void)
{
    pthread_t blocked, spinning;
    CHECK(pipe(block_pipe) == 0);
    CHECK(pthread_create(&blocked, NULL, blocked_thread, NULL) == 0);
    CHECK(pthread_create(&spinning, NULL, spinning_thread, NULL) == 0);
    while (atomic_load(&spin_count) == 0)
        sched_yield();

    CHECK(WIFEXITED(run_child("SYS_exit", body_sys_exit)));
    run_child("_exit", body_underscore_exit);
    run_child("exit+atexit", body_exit);
    run_child("exec failure", body_exec_fail);
    run_child("exec failure then /bin/true", body_exec_fail_then_true);
    run_child("raise SIGTERM", body_raise);

    /* Handlers and mask seen by the child: SIGUSR1 handled, SIGUSR2 blocked. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t b, old;
    sigemptyset(&b);
    sigaddset(&b, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &b, &old);
    run_child("signals", body_signals);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    signal(SIGUSR1, SIG_DFL);

    run_child("threads in the child", body_threads);
    run_child("grandchild", body_grandchild);

    /* A child blocked in pause(), killed by the parent. */
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        for (;;)
            pause();
    }
    CHECK(c > 0);
    CHECK(kill(c, SIGTERM) == 0);
    describe("paused child sent SIGTERM", wait_for(c));

    /* Raw vfork-style clones. */
    fflush(stdout);
    c = (pid_t)raw_vfork(NULL, 253);
    CHECK(c > 0);
    describe("clone(VFORK|VM) child SYS_exit", wait_for(c));
    c = (pid_t)raw_vfork("/nonexistent/true", 253);
    CHECK(c > 0);
    describe("clone(VFORK|VM) failed exec", wait_for(c));
    c = (pid_t)raw_vfork("/bin/true", 253);
    CHECK(c > 0);
    describe("clone(VFORK|VM) exec /bin/true", wait_for(c));

    /* vfork() from libc, child _exit. */
    c = vfork();
    if (c == 0)
        _exit(11);
    describe("vfork child _exit", wait_for(c));

    /* Many forks while the helper thread keeps computing. */
    int bad = 0;
    for (int i = 0; i < 20; i++) {
        fflush(stdout);
        c = fork();
        if (c == 0)
            syscall(SYS_exit, i);
        int st = wait_for(c);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != i)
            bad++;
    }
    printf("20 forks, wrong statuses: %d\n", bad);
    CHECK(bad == 0);

    atomic_store(&spin_stop, 1);
    pthread_join(spinning, NULL);
    CHECK(write(block_pipe[1], "x", 1) == 1);
    pthread_join(blocked, NULL);
    printf("threads joined\n");
    return failures;
}

/* sigextra.c — signal delivery details that signals.c does not cover.
 *
 * Asynchronous signals landing in a pure compute loop (register and FP/SIMD state
 * preserved), a handler that rewrites the interrupted context (skips an undefined
 * instruction and changes a register), raise() in a loop, nested handlers, the saved
 * mask in the ucontext, SIGRTMAX and SIGRTMIN (which an emulator on x86-64 must remap),
 * pthread_kill to a thread, pthread_cancel of a thread blocked in read() (glibc's
 * cancellation signal, and unwinding through the signal frame), POSIX timers with
 * SIGEV_SIGNAL and SIGEV_THREAD, SS_AUTODISARM, calls that return EINTR even with
 * SA_RESTART (nanosleep, ppoll), signalfd, sigsuspend woken by a child, and a child
 * killed by the default action of SIGRTMAX.
 * Output is identical on every architecture; exit status = number of failed checks.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31)
#endif

#include "check.h"

static void install(int sig, void (*h)(int, siginfo_t *, void *), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = h;
    sa.sa_flags = flags | SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, NULL) != 0) {
        printf("sigaction(%d) failed: %s\n", sig, strerror(errno));
        failures++;
    }
}

static void set_timer(long usec_first, long usec_every)
{
    struct itimerval it = {{0, usec_every}, {0, usec_first}};
    setitimer(ITIMER_REAL, &it, NULL);
}

/* --- 1. ticks in a compute loop; registers and FP state survive ------------- */
static volatile sig_atomic_t ticks;
static void on_tick(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    (void)uc;
    /* clobber as much FP/SIMD state as the compiler likes */
    volatile double d = 1.0;
    for (int i = 0; i < 50; i++)
        d = d * 1.000001 + 0.5;
    ticks++;
}

static uint64_t compute(long n, double *fout)
{
    uint64_t x = 88172645463325252ull, acc = 0;
    double f = 0.0, g = 1.0;
    for (long i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        acc += x * (uint64_t)i;
        f += (double)(x & 0xffff) * 0.5;
        g = g * 0.999999 + 0.000001 * (double)(i & 7);
    }
    *fout = f + g;
    return acc;
}

/* --- 2. a handler that rewrites the interrupted context ---------------------- */
static volatile sig_atomic_t ill_count;
static volatile int ill_addr_ok;
static void *volatile ill_expected;
static void on_ill(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    (void)sig;
    ill_count++;
    ill_addr_ok = si->si_addr == ill_expected && si->si_code > 0;
#if defined(__aarch64__)
    uc->uc_mcontext.regs[0] = 42;
    uc->uc_mcontext.pc += 4;
#elif defined(__x86_64__)
    uc->uc_mcontext.gregs[REG_RAX] = 42;
    uc->uc_mcontext.gregs[REG_RIP] += 2;
#endif
}

static long run_undefined(void)
{
    long r;
#if defined(__aarch64__)
    void *where;
    __asm__ volatile("adr %1, 1f\n\t"
                     "str %1, [%2]\n\t"
                     "mov x0, #1\n"
                     "1:\t.inst 0x00000000\n\t" /* UDF #0 */
                     "mov %0, x0"
                     : "=r"(r), "=&r"(where)
                     : "r"(&ill_expected)
                     : "x0", "memory");
#elif defined(__x86_64__)
    void *where;
    __asm__ volatile("lea 1f(%%rip), %1\n\t"
                     "mov %1, (%2)\n\t"
                     "mov $1, %%eax\n"
                     "1:\tud2\n\t"
                     "mov %%rax, %0"
                     : "=r"(r), "=&r"(where)
                     : "r"(&ill_expected)
                     : "rax", "memory");
#else
    r = 42;
    ill_count++;
    ill_addr_ok = 1;
#endif
    return r;
}

/* --- 3/4. raise in a loop, nesting, saved mask --------------------------------- */
static volatile sig_atomic_t count;
static void on_count(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    (void)uc;
    count++;
}

static char trace[64];
static volatile sig_atomic_t ntrace;
static volatile int saved_mask_has_usr2 = -1;
static void on_outer(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    (void)sig;
    (void)si;
    saved_mask_has_usr2 = sigismember(&uc->uc_sigmask, SIGURG);
    trace[ntrace++] = 'A';
    raise(SIGUSR2);
    trace[ntrace++] = 'a';
}
static void on_inner(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    (void)uc;
    trace[ntrace++] = 'B';
}

/* --- 5. SIGRTMAX / SIGRTMIN ------------------------------------------------------ */
static volatile int rt_sig, rt_val, rt_code;
static void on_rt(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    rt_sig = sig;
    rt_val = si->si_value.sival_int;
    rt_code = si->si_code;
}

/* --- 6. threads --------------------------------------------------------------------- */
static pthread_t target;
static volatile int thread_hit_ok;
static void on_thread_sig(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    (void)uc;
    thread_hit_ok = pthread_equal(pthread_self(), target);
}
static volatile int thread_ready, thread_stop;
static void *spinner(void *arg)
{
    (void)arg;
    thread_ready = 1;
    while (!thread_stop && !thread_hit_ok)
        ;
    return NULL;
}

static int cancel_pipe[2];
static volatile int cleanup_ran;
static void cleanup(void *arg)
{
    (void)arg;
    cleanup_ran = 1;
}
static void *reader(void *arg)
{
    (void)arg;
    char c;
    pthread_cleanup_push(cleanup, NULL);
    thread_ready = 1;
    for (;;)
        if (read(cancel_pipe[0], &c, 1) != -1 || errno != EINTR)
            break;
    pthread_cleanup_pop(0);
    return (void *)1;
}

/* --- 7. timers ------------------------------------------------------------------------- */
static volatile int timer_thread_value;
static void on_timer_thread(union sigval v)
{
    timer_thread_value = v.sival_int;
}

/* --- 8. SS_AUTODISARM ---------------------------------------------------------------- */
static volatile int autodisarm_inside = -1;
static void on_autodisarm(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    (void)uc;
    stack_t cur;
    sigaltstack(NULL, &cur);
    autodisarm_inside = (cur.ss_flags & SS_DISABLE) ? 1 : 0;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    sigset_t set, old;

    /* 1 ------------------------------------------------------------------------- */
    install(SIGALRM, on_tick, SA_RESTART);
    ticks = 0;
    set_timer(1000, 1000);
    double f1, f2;
    uint64_t a1 = 0;
    long rounds = 0;
    while (ticks < 20 && rounds < 100000) {
        a1 += compute(20000, &f1);
        rounds++;
    }
    set_timer(0, 0);
    /* the same work with no signals must give the same result */
    uint64_t a2 = 0;
    double f2sum = 0, f1sum = 0;
    for (long r = 0; r < rounds; r++) {
        a2 += compute(20000, &f2);
        f2sum += f2;
    }
    ticks = 0;
    set_timer(500, 500);
    uint64_t a3 = 0;
    for (long r = 0; r < rounds; r++) {
        a3 += compute(20000, &f1);
        f1sum += f1;
    }
    set_timer(0, 0);
    printf("compute loop interrupted: %s, results equal: %d %d\n",
           ticks > 0 ? "yes" : "no", a1 == a2 && a2 == a3, f1sum == f2sum);
    CHECK(a1 == a2 && a2 == a3 && f1sum == f2sum);

    /* 2 ------------------------------------------------------------------------- */
    install(SIGILL, on_ill, 0);
    long v = run_undefined();
    printf("undefined instruction skipped by handler: count=%d reg=%ld addr-ok=%d\n",
           ill_count, v, ill_addr_ok);
    CHECK(ill_count == 1 && v == 42 && ill_addr_ok);

    /* 3 ------------------------------------------------------------------------- */
    install(SIGUSR1, on_count, 0);
    count = 0;
    for (int i = 0; i < 10000; i++)
        raise(SIGUSR1);
    printf("raise x10000: delivered %d\n", count);
    CHECK(count == 10000);

    /* 4 ------------------------------------------------------------------------- */
    install(SIGUSR1, on_outer, 0);
    install(SIGUSR2, on_inner, 0);
    sigemptyset(&set);
    sigaddset(&set, SIGURG);
    sigprocmask(SIG_BLOCK, &set, &old);
    ntrace = 0;
    raise(SIGUSR1);
    sigprocmask(SIG_SETMASK, &old, NULL);
    trace[ntrace] = 0;
    printf("nested handlers: %s, saved mask has the blocked signal: %d\n", trace,
           saved_mask_has_usr2);
    CHECK(strcmp(trace, "ABa") == 0 && saved_mask_has_usr2 == 1);

    /* 5 ------------------------------------------------------------------------- */
    int rts[2] = {SIGRTMAX, SIGRTMIN};
    for (int k = 0; k < 2; k++) {
        int s = rts[k];
        install(s, on_rt, 0);
        rt_sig = 0;
        union sigval sv = {.sival_int = 100 + k};
        sigqueue(getpid(), s, sv);
        printf("%s: handler sig ok=%d value=%d SI_QUEUE=%d\n", k ? "SIGRTMIN" : "SIGRTMAX",
               rt_sig == s, rt_val, rt_code == SI_QUEUE);
        CHECK(rt_sig == s && rt_val == 100 + k);
        sigemptyset(&set);
        sigaddset(&set, s);
        sigprocmask(SIG_BLOCK, &set, &old);
        sv.sival_int = 7;
        sigqueue(getpid(), s, sv);
        sv.sival_int = 8;
        sigqueue(getpid(), s, sv);
        sigset_t pend;
        sigpending(&pend);
        siginfo_t si;
        int w1 = sigwaitinfo(&set, &si);
        int v1 = si.si_value.sival_int;
        int w2 = sigwaitinfo(&set, &si);
        int v2 = si.si_value.sival_int;
        printf("  blocked: pending=%d, sigwaitinfo -> ok=%d,%d values %d,%d\n",
               sigismember(&pend, s), w1 == s, w2 == s, v1, v2);
        CHECK(sigismember(&pend, s) == 1 && w1 == s && w2 == s && v1 == 7 && v2 == 8);
        sigprocmask(SIG_SETMASK, &old, NULL);
    }

    /* 6 ------------------------------------------------------------------------- */
    install(SIGUSR1, on_thread_sig, 0);
    thread_ready = 0;
    CHECK(pthread_create(&target, NULL, spinner, NULL) == 0);
    while (!thread_ready)
        ;
    pthread_kill(target, SIGUSR1);
    pthread_join(target, NULL);
    printf("pthread_kill: handler ran on the target thread: %d\n", thread_hit_ok);
    CHECK(thread_hit_ok == 1);

    CHECK(pipe(cancel_pipe) == 0);
    thread_ready = 0;
    pthread_t rd;
    CHECK(pthread_create(&rd, NULL, reader, NULL) == 0);
    while (!thread_ready)
        ;
    usleep(20000); /* let it block in read() */
    pthread_cancel(rd);
    void *ret = NULL;
    pthread_join(rd, &ret);
    printf("pthread_cancel in read(): canceled=%d cleanup ran=%d\n", ret == PTHREAD_CANCELED,
           cleanup_ran);
    CHECK(ret == PTHREAD_CANCELED && cleanup_ran);

    /* 7 ------------------------------------------------------------------------- */
    install(SIGRTMIN + 1, on_rt, 0);
    rt_sig = 0;
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGRTMIN + 1;
    ev.sigev_value.sival_int = 55;
    timer_t tid;
    CHECK(timer_create(CLOCK_MONOTONIC, &ev, &tid) == 0);
    struct itimerspec its = {{0, 0}, {0, 10 * 1000 * 1000}};
    CHECK(timer_settime(tid, 0, &its, NULL) == 0);
    for (int i = 0; i < 200 && !rt_sig; i++)
        usleep(5000);
    printf("timer SIGEV_SIGNAL: sig ok=%d value=%d SI_TIMER=%d\n", rt_sig == SIGRTMIN + 1,
           rt_val, rt_code == SI_TIMER);
    timer_delete(tid);
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_THREAD;
    ev.sigev_notify_function = on_timer_thread;
    ev.sigev_value.sival_int = 66;
    CHECK(timer_create(CLOCK_MONOTONIC, &ev, &tid) == 0);
    CHECK(timer_settime(tid, 0, &its, NULL) == 0);
    for (int i = 0; i < 200 && !timer_thread_value; i++)
        usleep(5000);
    printf("timer SIGEV_THREAD: value=%d\n", timer_thread_value);
    timer_delete(tid);

    /* 8 ------------------------------------------------------------------------- */
    size_t altsz = 64 * 1024;
    stack_t ss = {.ss_sp = malloc(altsz), .ss_size = altsz, .ss_flags = SS_AUTODISARM};
    CHECK(sigaltstack(&ss, NULL) == 0);
    install(SIGUSR2, on_autodisarm, SA_ONSTACK);
    raise(SIGUSR2);
    stack_t cur;
    sigaltstack(NULL, &cur);
    printf("SS_AUTODISARM: disabled inside=%d, after: AUTODISARM=%d DISABLE=%d\n",
           autodisarm_inside, !!(cur.ss_flags & SS_AUTODISARM), !!(cur.ss_flags & SS_DISABLE));
    ss.ss_flags = SS_DISABLE;
    sigaltstack(&ss, NULL);

    /* 9 ------------------------------------------------------------------------- */
    install(SIGALRM, on_count, SA_RESTART);
    set_timer(20000, 0);
    struct timespec req = {2, 0}, rem;
    int nr = nanosleep(&req, &rem);
    int nr_errno = errno;
    printf("nanosleep with SA_RESTART handler: %d EINTR=%d remaining<2s=%d\n", nr,
           nr_errno == EINTR, rem.tv_sec < 2);
    int pp[2];
    CHECK(pipe(pp) == 0);
    struct pollfd pfd = {.fd = pp[0], .events = POLLIN};
    struct timespec pto = {2, 0};
    set_timer(20000, 0);
    int pr = ppoll(&pfd, 1, &pto, NULL);
    int pr_errno = errno;
    printf("ppoll with SA_RESTART handler: %d EINTR=%d\n", pr, pr_errno == EINTR);
    close(pp[0]);
    close(pp[1]);

    /* 10 ------------------------------------------------------------------------ */
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, &old);
    int sfd = signalfd(-1, &set, SFD_CLOEXEC);
    CHECK(sfd >= 0);
    union sigval sv9 = {.sival_int = 99};
    sigqueue(getpid(), SIGUSR1, sv9);
    struct signalfd_siginfo fdsi;
    ssize_t got = read(sfd, &fdsi, sizeof fdsi);
    printf("signalfd: read=%d signo ok=%d value=%d\n", (int)(got == sizeof fdsi),
           fdsi.ssi_signo == SIGUSR1, fdsi.ssi_int);
    close(sfd);
    sigprocmask(SIG_SETMASK, &old, NULL);

    /* 11 ------------------------------------------------------------------------ */
    install(SIGUSR1, on_count, 0);
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, &old);
    count = 0;
    pid_t c = fork();
    if (c == 0) {
        kill(getppid(), SIGUSR1);
        _exit(0);
    }
    sigset_t none;
    sigemptyset(&none);
    int sr = sigsuspend(&none);
    printf("sigsuspend woken by child: ret=%d EINTR=%d handled=%d\n", sr, errno == EINTR,
           count);
    sigprocmask(SIG_SETMASK, &old, NULL);
    waitpid(c, NULL, 0);

    /* 12 ------------------------------------------------------------------------ */
    int st = 0;
    c = fork();
    if (c == 0) {
        signal(SIGRTMAX, SIG_DFL);
        raise(SIGRTMAX);
        _exit(1);
    }
    waitpid(c, &st, 0);
    printf("child raising SIGRTMAX: killed by SIGRTMAX=%d\n",
           WIFSIGNALED(st) && WTERMSIG(st) == SIGRTMAX);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGRTMAX);
    c = fork();
    if (c == 0) {
        signal(SIGRTMIN + 3, SIG_DFL);
        pause();
        _exit(1);
    }
    usleep(20000);
    kill(c, SIGRTMIN + 3);
    waitpid(c, &st, 0);
    printf("child killed by SIGRTMIN+3: %d\n", WIFSIGNALED(st) && WTERMSIG(st) == SIGRTMIN + 3);

    printf("sigextra: %s (%d failures)\n", failures ? "FAIL" : "ok", failures);
    return failures;
}

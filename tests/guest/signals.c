/* signals.c — signal delivery, masks, fault signals and non-local jumps.
 *
 * sigaction (SA_SIGINFO, SA_RESETHAND, SA_NODEFER, SA_RESTART, sa_mask),
 * raise/kill/sigqueue with a value, blocking and sigpending, real-time signal
 * queueing order, sigsuspend, sigwaitinfo/sigtimedwait, alarm/setitimer,
 * EINTR versus SA_RESTART on a blocking read, sigaltstack, precise SIGSEGV
 * (si_addr, si_code MAPERR vs ACCERR) and SIGBUS on a file mapping past EOF
 * recovered with siglongjmp, setjmp/longjmp, and a handler's view of the
 * interrupted code's errno. Handlers only record into volatile globals;
 * printing happens outside. Arch-specific behaviour (SIGFPE on division by
 * zero, __builtin_trap's signal) is deliberately absent.
 * Exit status: number of failed checks.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static volatile sig_atomic_t got_sig, got_code, got_val, handler_count, nested_depth, max_depth;
static volatile int order[32], order_val[32];
static volatile sig_atomic_t norder;
static void *volatile got_addr;
static volatile int handler_saw_blocked;

static void on_info(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    got_sig = sig;
    got_code = si->si_code;
    got_val = si->si_value.sival_int;
    handler_count++;
    if (norder < 32) {
        order_val[norder] = si->si_value.sival_int;
        order[norder++] = sig;
    }
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    handler_saw_blocked = sigismember(&cur, SIGUSR2) * 2 + sigismember(&cur, sig);
}

static void on_simple(int sig)
{
    got_sig = sig;
    handler_count++;
}

static void on_nested(int sig)
{
    nested_depth++;
    if (nested_depth > max_depth)
        max_depth = nested_depth;
    if (nested_depth < 3)
        raise(sig); /* with SA_NODEFER this re-enters immediately */
    nested_depth--;
}

static sigjmp_buf fault_jmp;
static void on_fault(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    got_sig = sig;
    got_code = si->si_code;
    got_addr = si->si_addr;
    siglongjmp(fault_jmp, 1);
}

static char *volatile altstack_lo, *volatile altstack_hi;
static volatile int on_alt;
static void on_altstack(int sig)
{
    char local;
    (void)sig;
    on_alt = &local >= altstack_lo && &local < altstack_hi;
    stack_t ss;
    sigaltstack(NULL, &ss);
    on_alt |= (ss.ss_flags & SS_ONSTACK) ? 2 : 0;
}

static void on_errno_clobber(int sig)
{
    (void)sig;
    errno = EINVAL; /* a well-behaved handler would save/restore; the kernel doesn't */
    handler_count++;
}

static int write_fd = -1;
static void on_alarm_write(int sig)
{
    got_sig = sig;
    if (write(write_fd, "!", 1) != 1)
        got_code = -1;
}

static void install(int sig, void (*h)(int, siginfo_t *, void *), void (*s)(int), int flags,
                    const int *mask_sigs)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    if (h) {
        sa.sa_sigaction = h;
        flags |= SA_SIGINFO;
    } else {
        sa.sa_handler = s;
    }
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    for (; mask_sigs && *mask_sigs; mask_sigs++)
        sigaddset(&sa.sa_mask, *mask_sigs);
    if (sigaction(sig, &sa, NULL) != 0) {
        printf("sigaction(%d) failed\n", sig);
        failures++;
    }
}

static const char *sname(int s)
{
    switch (s) {
    case SIGUSR1: return "SIGUSR1";
    case SIGUSR2: return "SIGUSR2";
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGALRM: return "SIGALRM";
    case SIGCHLD: return "SIGCHLD";
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP";
    case 0: return "none";
    default:
        if (s >= SIGRTMIN && s <= SIGRTMAX) {
            static char b[16];
            snprintf(b, sizeof b, "SIGRTMIN+%d", s - SIGRTMIN);
            return b;
        }
        return "other";
    }
}

static const char *codename(int c)
{
    switch (c) {
    case SI_USER: return "SI_USER";
    case SI_QUEUE: return "SI_QUEUE";
    case SI_TKILL: return "SI_TKILL";
    case SI_KERNEL: return "SI_KERNEL";
    case SI_TIMER: return "SI_TIMER";
    default: return "code?";
    }
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0); /* unbuffered: survives any crash mid-test */

    /* --- basic delivery -------------------------------------------------- */
    int mask_usr2[] = {SIGUSR2, 0};
    install(SIGUSR1, on_info, NULL, 0, mask_usr2);
    raise(SIGUSR1);
    printf("raise: sig=%s code=%s count=%d blocked-in-handler(usr2*2+self)=%d\n",
           sname(got_sig), codename(got_code), handler_count, handler_saw_blocked);
    CHECK(got_sig == SIGUSR1 && handler_saw_blocked == 3);
    got_sig = 0;
    kill(getpid(), SIGUSR1);
    printf("kill: sig=%s code=%s\n", sname(got_sig), codename(got_code));
    union sigval sv = {.sival_int = 4242};
    sigqueue(getpid(), SIGUSR1, sv);
    printf("sigqueue: sig=%s code=%s value=%d\n", sname(got_sig), codename(got_code), got_val);
    CHECK(got_val == 4242 && got_code == SI_QUEUE);

    /* --- sigaction query, SIG_IGN, SIG_DFL ------------------------------- */
    struct sigaction old;
    sigaction(SIGUSR1, NULL, &old);
    printf("query: SA_SIGINFO=%d usr2-in-mask=%d\n", !!(old.sa_flags & SA_SIGINFO),
           sigismember(&old.sa_mask, SIGUSR2));
    signal(SIGHUP, SIG_IGN);
    raise(SIGHUP);
    printf("SIG_IGN survived SIGHUP\n");
    int rc = sigaction(0, &old, NULL); /* call first: argument evaluation order is unspecified */
    printf("sigaction invalid signal: %d errno-EINVAL=%d\n", rc, errno == EINVAL);
    rc = sigaction(SIGKILL, &old, NULL);
    printf("sigaction SIGKILL: %d errno-EINVAL=%d\n", rc, errno == EINVAL);

    /* --- blocking, pending, unblocking ----------------------------------- */
    sigset_t set, oldset, pend;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, &oldset);
    handler_count = 0;
    raise(SIGUSR1);
    raise(SIGUSR1); /* standard signals do not queue */
    sigpending(&pend);
    printf("blocked: delivered=%d pending=%d\n", handler_count, sigismember(&pend, SIGUSR1));
    sigprocmask(SIG_SETMASK, &oldset, NULL);
    printf("unblocked: delivered=%d\n", handler_count);
    CHECK(handler_count == 1);

    /* --- real-time signals queue, lowest number first -------------------- */
    int rt1 = SIGRTMIN + 1, rt2 = SIGRTMIN + 2;
    install(rt1, on_info, NULL, 0, NULL);
    install(rt2, on_info, NULL, 0, NULL);
    sigemptyset(&set);
    sigaddset(&set, rt1);
    sigaddset(&set, rt2);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, &oldset);
    norder = 0;
    for (int i = 0; i < 3; i++) {
        sv.sival_int = i;
        sigqueue(getpid(), rt2, sv);
        sigqueue(getpid(), rt1, sv);
    }
    raise(SIGUSR1);
    sigprocmask(SIG_SETMASK, &oldset, NULL);
    /* The interleaving between different signals depends on how the kernel
     * stacks frames when several are pending at once; what every program can
     * rely on is: each queued RT instance arrives once, in FIFO order per
     * signal, and the standard signal once. */
    const int which[3] = {rt1, rt2, SIGUSR1};
    for (int k = 0; k < 3; k++) {
        printf("delivered %s:", sname(which[k]));
        for (int i = 0; i < norder; i++)
            if (order[i] == which[k])
                printf(" %d", which[k] == SIGUSR1 ? -1 : order_val[i]);
        printf("\n");
    }
    CHECK(norder == 7);

    /* --- SA_RESETHAND and SA_NODEFER -------------------------------------- */
    install(SIGUSR2, NULL, on_simple, SA_RESETHAND, NULL);
    raise(SIGUSR2);
    sigaction(SIGUSR2, NULL, &old);
    printf("SA_RESETHAND: handled=%s now default=%d\n", sname(got_sig), old.sa_handler == SIG_DFL);
    install(SIGUSR2, NULL, on_nested, SA_NODEFER, NULL);
    raise(SIGUSR2);
    printf("SA_NODEFER: max nesting=%d\n", max_depth);
    CHECK(max_depth == 3);

    /* --- errno seen by interrupted code is what the handler left --------- */
    install(SIGUSR2, NULL, on_errno_clobber, 0, NULL);
    errno = 0;
    raise(SIGUSR2);
    printf("errno after handler that set EINVAL: %s\n", errno == EINVAL ? "EINVAL" : "other");

    /* --- sigsuspend ------------------------------------------------------- */
    install(SIGALRM, NULL, on_simple, 0, NULL);
    sigemptyset(&set);
    sigaddset(&set, SIGALRM);
    sigprocmask(SIG_BLOCK, &set, &oldset);
    got_sig = 0;
    alarm(1);
    sigset_t waitmask;
    sigemptyset(&waitmask);
    int sr = sigsuspend(&waitmask);
    printf("sigsuspend: ret=%d EINTR=%d sig=%s\n", sr, errno == EINTR, sname(got_sig));
    sigprocmask(SIG_SETMASK, &oldset, NULL);

    /* --- sigwaitinfo / sigtimedwait --------------------------------------- */
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, &oldset);
    sv.sival_int = 77;
    sigqueue(getpid(), SIGUSR1, sv);
    siginfo_t si;
    int w = sigwaitinfo(&set, &si);
    printf("sigwaitinfo: %s value=%d code=%s\n", sname(w), si.si_value.sival_int, codename(si.si_code));
    struct timespec to = {0, 20 * 1000 * 1000};
    w = sigtimedwait(&set, &si, &to);
    printf("sigtimedwait timeout: %d EAGAIN=%d\n", w, errno == EAGAIN);
    sigprocmask(SIG_SETMASK, &oldset, NULL);

    /* --- EINTR vs SA_RESTART on a blocking pipe read ---------------------- */
    /* A periodic timer, so the outcome does not depend on how long it takes
     * to reach read(): some tick always lands while read() is blocked. */
    int p[2];
    CHECK(pipe(p) == 0);
    write_fd = p[1];
    char c;
    install(SIGALRM, NULL, on_simple, 0, NULL); /* no SA_RESTART, writes nothing */
    struct itimerval it = {{0, 20 * 1000}, {0, 20 * 1000}}, off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &it, NULL);
    ssize_t rr = read(p[0], &c, 1);
    int rr_errno = errno;
    setitimer(ITIMER_REAL, &off, NULL);
    printf("read without SA_RESTART: %zd EINTR=%d\n", rr, rr < 0 && rr_errno == EINTR);
    /* with SA_RESTART the handler's '!' is what read() returns, whether the
     * signal came before or during the read */
    install(SIGALRM, NULL, on_alarm_write, SA_RESTART, NULL);
    struct itimerval once = {{0, 0}, {0, 50 * 1000}};
    setitimer(ITIMER_REAL, &once, NULL);
    rr = read(p[0], &c, 1);
    printf("read with SA_RESTART: %zd char=%c\n", rr, rr == 1 ? c : '?');
    close(p[0]);
    close(p[1]);

    /* --- sigaltstack ------------------------------------------------------ */
    size_t altsz = 64 * 1024;
    char *alt = malloc(altsz);
    altstack_lo = alt;
    altstack_hi = alt + altsz;
    stack_t ss = {.ss_sp = alt, .ss_size = altsz, .ss_flags = 0};
    CHECK(sigaltstack(&ss, NULL) == 0);
    install(SIGUSR2, NULL, on_altstack, SA_ONSTACK, NULL);
    raise(SIGUSR2);
    printf("handler on alt stack: in-range=%d SS_ONSTACK=%d\n", on_alt & 1, (on_alt >> 1) & 1);
    stack_t cur;
    sigaltstack(NULL, &cur);
    printf("after handler: SS_ONSTACK=%d SS_DISABLE=%d\n", !!(cur.ss_flags & SS_ONSTACK),
           !!(cur.ss_flags & SS_DISABLE));
    ss.ss_size = 100; /* too small */
    rc = sigaltstack(&ss, NULL);
    printf("sigaltstack too small: %d ENOMEM=%d\n", rc, errno == ENOMEM);

    /* --- SIGSEGV: precise address and code --------------------------------- */
    long pg = sysconf(_SC_PAGESIZE);
    install(SIGSEGV, on_fault, NULL, SA_ONSTACK, NULL);
    install(SIGBUS, on_fault, NULL, SA_ONSTACK, NULL);
    char *m = mmap(NULL, (size_t)pg * 3, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED);
    m[100] = 'r';
    CHECK(mprotect(m, (size_t)pg, PROT_READ) == 0);
    CHECK(munmap(m + 2 * pg, (size_t)pg) == 0);
    volatile int stage = 0;
    got_sig = 0;
    if (sigsetjmp(fault_jmp, 1) == 0) {
        stage = 1;
        *(volatile char *)(m + 123) = 'x'; /* write to read-only page */
        stage = 2;
    }
    printf("write to RO page: sig=%s ACCERR=%d addr-exact=%d stage=%d\n", sname(got_sig),
           got_code == SEGV_ACCERR, got_addr == m + 123, stage);
    printf("read still fine: %c\n", m[100]);
    got_sig = 0;
    if (sigsetjmp(fault_jmp, 1) == 0) {
        volatile char v = *(volatile char *)(m + 2 * pg + 7); /* unmapped */
        (void)v;
    }
    printf("read unmapped: sig=%s MAPERR=%d addr-exact=%d\n", sname(got_sig),
           got_code == SEGV_MAPERR, got_addr == m + 2 * pg + 7);
    got_sig = 0;
    if (sigsetjmp(fault_jmp, 1) == 0) {
        typedef uint64_t __attribute__((aligned(1))) u64_unaligned; /* unaligned is fine on both arches */
        volatile u64_unaligned *p64 = (volatile u64_unaligned *)(m + 2 * pg - 4); /* straddles into unmapped */
        *p64 = 1;
    }
    printf("straddling write: sig=%s\n", sname(got_sig));
    got_sig = 0;
    if (sigsetjmp(fault_jmp, 1) == 0) {
        void (*volatile fn)(void) = (void (*)(void))(void *)(m + 2 * pg); /* jump to unmapped */
        fn();
    }
    printf("call unmapped: sig=%s MAPERR=%d addr-exact=%d\n", sname(got_sig),
           got_code == SEGV_MAPERR, got_addr == m + 2 * pg);
    got_sig = 0;
    if (sigsetjmp(fault_jmp, 1) == 0) {
        CHECK(mprotect(m + pg, (size_t)pg, PROT_NONE) == 0);
        volatile char v = *(volatile char *)(m + pg); /* PROT_NONE read */
        (void)v;
    }
    printf("read PROT_NONE: sig=%s ACCERR=%d\n", sname(got_sig), got_code == SEGV_ACCERR);
    /* the signal mask was restored by siglongjmp: SIGSEGV is not blocked */
    sigprocmask(SIG_BLOCK, NULL, &set);
    printf("SIGSEGV blocked after siglongjmp: %d\n", sigismember(&set, SIGSEGV));

    /* --- SIGBUS: file mapping beyond EOF ---------------------------------- */
    const char *tmp = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/ferrite-sig-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    unlink(path);
    CHECK(write(fd, "abc", 3) == 3);
    char *fm = mmap(NULL, (size_t)pg * 2, PROT_READ, MAP_SHARED, fd, 0);
    CHECK(fm != MAP_FAILED);
    got_sig = 0;
    if (sigsetjmp(fault_jmp, 1) == 0) {
        volatile char v = fm[pg + 1]; /* page wholly beyond EOF */
        (void)v;
    }
    printf("read past EOF page: sig=%s ADRERR=%d addr-exact=%d first-page=%c%c%c\n",
           sname(got_sig), got_code == BUS_ADRERR, got_addr == fm + pg + 1, fm[0], fm[1], fm[2]);
    close(fd);

    /* --- setjmp/longjmp without signals ------------------------------------ */
    jmp_buf jb;
    volatile int jumps = 0;
    if (setjmp(jb) < 5) {
        jumps++;
        longjmp(jb, jumps);
    }
    printf("setjmp/longjmp loops: %d\n", jumps);

    /* --- default action of an ignored-then-restored signal ----------------- */
    signal(SIGUSR2, SIG_IGN);
    raise(SIGUSR2);
    printf("signals: %s (%d failures)\n", failures ? "FAIL" : "ok", failures);
    return failures;
}

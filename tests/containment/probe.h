/* probe.h — shared helpers of the containment guest programs (tests/containment.rs).
 *
 * A "probe" runs one dangerous action in a forked child that has handlers for
 * SIGSEGV/SIGBUS/SIGILL (on an alternate stack). The handler compares the
 * siginfo with what the probe expects and exits 0 (match) or 1 (mismatch);
 * the parent prints one "PASS name: ..." or "FAIL name: ..." line. A child
 * that does not fault at all exits 3. Output is unbuffered (stdout is set to
 * _IONBF by probe_init) so that forked children never repeat buffered text.
 */
#ifndef CONTAINMENT_PROBE_H
#define CONTAINMENT_PROBE_H
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define ANY_CODE (-1000)
#define ANY_ADDR (~0ul)

static int n_fail __attribute__((unused)), n_pass __attribute__((unused));
static const char *cur_name;
static int exp_sig, exp_code1, exp_code2;
static unsigned long exp_addr, exp_addr2;
static char altstack_mem[1 << 16];

__attribute__((unused)) static void out(const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof buf - 1) n = sizeof buf - 1;
    ssize_t w = write(1, buf, n);
    (void)w;
}

__attribute__((unused)) static void pass(const char *name, const char *fmt, ...) {
    char buf[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    out("PASS %s: %s\n", name, buf);
    n_pass++;
}

__attribute__((unused)) static void fail(const char *name, const char *fmt, ...) {
    char buf[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    out("FAIL %s: %s\n", name, buf);
    n_fail++;
}

__attribute__((unused)) static const char *signame(int s) {
    switch (s) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGILL: return "SIGILL";
    case SIGTRAP: return "SIGTRAP";
    case SIGFPE: return "SIGFPE";
    case SIGALRM: return "SIGALRM";
    case SIGKILL: return "SIGKILL";
    case SIGABRT: return "SIGABRT";
    default: return "?";
    }
}

static void probe_handler(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    unsigned long a = (unsigned long)si->si_addr;
    int ok = sig == exp_sig &&
             (exp_code1 == ANY_CODE || si->si_code == exp_code1 || si->si_code == exp_code2) &&
             (exp_addr == ANY_ADDR || a == exp_addr || a == exp_addr2);
    char want_code[32], want_addr[48];
    if (exp_code1 == ANY_CODE) snprintf(want_code, sizeof want_code, "any");
    else if (exp_code1 == exp_code2) snprintf(want_code, sizeof want_code, "%d", exp_code1);
    else snprintf(want_code, sizeof want_code, "%d|%d", exp_code1, exp_code2);
    if (exp_addr == ANY_ADDR) snprintf(want_addr, sizeof want_addr, "any");
    else if (exp_addr == exp_addr2) snprintf(want_addr, sizeof want_addr, "%#lx", exp_addr);
    else snprintf(want_addr, sizeof want_addr, "%#lx|%#lx", exp_addr, exp_addr2);
    out("%s %s: got %s code=%d addr=%#lx; want %s code=%s addr=%s\n", ok ? "PASS" : "FAIL", cur_name,
        signame(sig), si->si_code, a, signame(exp_sig), want_code, want_addr);
    _exit(ok ? 0 : 1);
}

__attribute__((unused)) static void probe_init(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
}

/* Run fn(arg) in a child; expect signal sig with si_code in {code1, code2}
 * (or ANY_CODE) and si_addr in {addr, addr2} (or ANY_ADDR). */
__attribute__((unused)) static void probe2(const char *name, void (*fn)(void *), void *arg, int sig, int code1, int code2,
                   unsigned long addr, unsigned long addr2) {
    pid_t pid = fork();
    if (pid < 0) {
        fail(name, "fork: %s", strerror(errno));
        return;
    }
    if (pid == 0) {
        cur_name = name;
        exp_sig = sig;
        exp_code1 = code1;
        exp_code2 = code2;
        exp_addr = addr;
        exp_addr2 = addr2;
        stack_t ss = {.ss_sp = altstack_mem, .ss_size = sizeof altstack_mem, .ss_flags = 0};
        sigaltstack(&ss, NULL);
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = probe_handler;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigaction(SIGSEGV, &sa, NULL);
        sigaction(SIGBUS, &sa, NULL);
        sigaction(SIGILL, &sa, NULL);
        sigaction(SIGTRAP, &sa, NULL);
        fn(arg);
        out("FAIL %s: no signal (the access succeeded)\n", name);
        _exit(3);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid) {
        fail(name, "waitpid: %s", strerror(errno));
        return;
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        n_pass++;
    else if (WIFEXITED(st))
        n_fail++; /* the child printed the FAIL line */
    else
        fail(name, "child killed by signal %d (%s) instead of reaching its handler", WTERMSIG(st),
             signame(WTERMSIG(st)));
}

__attribute__((unused)) static void probe(const char *name, void (*fn)(void *), void *arg, int sig, int code,
                  unsigned long addr) {
    probe2(name, fn, arg, sig, code, code, addr, addr);
}

/* Fork a child running fn(arg); return its wait status (or -1). */
__attribute__((unused)) static int in_child(void (*fn)(void *), void *arg) {
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        fn(arg);
        _exit(0);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid) return -1;
    return st;
}

__attribute__((unused)) static const char *describe_status(int st) {
    static char buf[64];
    if (st == -1) snprintf(buf, sizeof buf, "fork/wait failed");
    else if (WIFEXITED(st)) snprintf(buf, sizeof buf, "exited %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st)) snprintf(buf, sizeof buf, "killed by signal %d (%s)", WTERMSIG(st), signame(WTERMSIG(st)));
    else snprintf(buf, sizeof buf, "status %#x", st);
    return buf;
}

/* Print the summary and the final line; return the exit status. */
__attribute__((unused)) static int finish(const char *prog) {
    out("%s: %d passed, %d failed\n", prog, n_pass, n_fail);
    if (n_fail == 0) out("ok\n");
    return n_fail ? 1 : 0;
}
#endif

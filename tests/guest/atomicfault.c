/* Misaligned exclusive and atomic accesses: an arm64 kernel delivers SIGBUS with
 * si_code BUS_ADRALN and si_addr = the address, and the access has no effect. (ferrite
 * raises the architectural alignment fault from its atomic helpers and maps it to the
 * signal.) The x86-64 oracle build prints the arm64 reference results, since x86
 * allows misaligned atomics. (A misaligned STXR without a load-exclusive is left
 * out: qemu-aarch64 7.2 fails it without the alignment check that Arm's
 * ExclusiveMonitorsPass does first; ferrite's unit tests cover it.) */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static sigjmp_buf env;
static volatile int got_sig, got_code;
static volatile uintptr_t got_addr;

static void on_bus(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    got_sig = sig;
    got_code = si->si_code;
    got_addr = (uintptr_t)si->si_addr;
    siglongjmp(env, 1);
}

static _Alignas(16) unsigned char buf[64];

#ifdef __aarch64__
static void do_ldxr(unsigned char *p) {
    uint64_t v;
    __asm__ volatile("ldxr %0, [%1]" : "=r"(v) : "r"(p) : "memory");
}
static void do_stxr(unsigned char *p) {
    uint32_t st;
    uint64_t v = 0x1234;
    __asm__ volatile("ldxr x9, [%2]\n\tstxr %w0, %1, [%2]"
                     : "=&r"(st) : "r"(v), "r"(p + 0) : "x9", "memory");
}
static void do_ldxp(unsigned char *p) {
    uint64_t a, b;
    __asm__ volatile("ldxp %0, %1, [%2]" : "=&r"(a), "=&r"(b) : "r"(p) : "memory");
}
static void do_ldadd(unsigned char *p) {
    uint32_t v = 5, old;
    __asm__ volatile(".arch_extension lse\n\tldadd %w1, %w0, [%2]"
                     : "=r"(old) : "r"(v), "r"(p) : "memory");
}
static void do_cas(unsigned char *p) {
    uint64_t cmp = 0, v = 7;
    __asm__ volatile(".arch_extension lse\n\tcas %0, %1, [%2]"
                     : "+r"(cmp) : "r"(v), "r"(p) : "memory");
}
#endif

struct test {
    const char *name;
#ifdef __aarch64__
    void (*fn)(unsigned char *);
#endif
    int offset;
};

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_bus;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, NULL);
    struct test tests[] = {
#ifdef __aarch64__
        {"ldxr x", do_ldxr, 4},
        {"ldxp x", do_ldxp, 8},
        {"ldadd w", do_ldadd, 1},
        {"cas x", do_cas, 4},
#else
        {"ldxr x", 4}, {"ldxp x", 8}, {"ldadd w", 1}, {"cas x", 4},
#endif
    };
    int fails = 0;
    for (unsigned i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        for (unsigned k = 0; k < sizeof buf; k++)
            buf[k] = (unsigned char)(k + 1);
        unsigned char *p = buf + 16 + tests[i].offset;
        got_sig = 0;
        got_code = 0;
        got_addr = 0;
        if (sigsetjmp(env, 1) == 0) {
#ifdef __aarch64__
            tests[i].fn(p);
#else
            /* The arm64 result, for the oracle. */
            got_sig = SIGBUS;
            got_code = BUS_ADRALN;
            got_addr = (uintptr_t)p;
#endif
        }
        int unchanged = 1;
        for (unsigned k = 0; k < sizeof buf; k++)
            unchanged &= buf[k] == (unsigned char)(k + 1);
        printf("%-8s +%d: SIGBUS=%d ADRALN=%d addr-exact=%d memory-unchanged=%d\n",
               tests[i].name, tests[i].offset, got_sig == SIGBUS,
               got_code == BUS_ADRALN, got_addr == (uintptr_t)p, unchanged);
        fails += !(got_sig == SIGBUS && got_code == BUS_ADRALN &&
                   got_addr == (uintptr_t)p && unchanged);
    }
#ifdef __aarch64__
    /* An aligned exclusive pair still works afterwards. */
    do_stxr(buf + 16);
#endif
    printf("aligned after faults: ok\n");
    return fails != 0;
}

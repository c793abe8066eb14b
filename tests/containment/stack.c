/* stack.c — scenario 4: stack exhaustion by unbounded recursion.
 *
 *   stack handler    SIGSEGV handler on a sigaltstack: reports and exits 0.
 *                    Before recursing, a few anonymous mappings are made and
 *                    filled with a pattern: the overflow must fault (the stack
 *                    has a guard gap, as on Linux) rather than run into them,
 *                    so the handler checks that they are intact and that the
 *                    fault address lies below the initial stack pointer and at
 *                    most 64 MiB below it.
 *   stack nohandler  no handler: the process must die by SIGSEGV.
 */
#include "probe.h"
#include <sys/resource.h>

#define NMAPS 16
#define MAPSZ (256 * 1024)
static unsigned char *maps[NMAPS];
static unsigned long initial_sp;
static volatile unsigned long depth;

static int intact(void) {
    for (int i = 0; i < NMAPS; i++)
        for (int j = 0; j < MAPSZ; j += 512)
            if (maps[i][j] != (unsigned char)(0xa5 ^ i)) return 0;
    return 1;
}

static void on_segv(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    unsigned long a = (unsigned long)si->si_addr;
    int ok = 1;
    out("caught %s code=%d depth=%lu fault %#lx below initial sp\n", signame(sig), si->si_code, depth,
        initial_sp - a);
    if (sig != SIGSEGV || si->si_code != SEGV_MAPERR) {
        out("FAIL signal: want SIGSEGV code=%d (SEGV_MAPERR)\n", SEGV_MAPERR);
        ok = 0;
    }
    if (!(a < initial_sp && initial_sp - a <= (64ul << 20))) {
        out("FAIL fault-address: %#lx is not within 64 MiB below the initial sp %#lx\n", a, initial_sp);
        ok = 0;
    }
    if (!intact()) {
        out("FAIL neighbours: the recursion overwrote a mapping made by the program\n");
        ok = 0;
    }
    if (ok) out("ok\n");
    _exit(ok ? 0 : 1);
}

__attribute__((noinline)) static unsigned long recurse(unsigned long n) {
    volatile char pad[256];
    pad[0] = (char)n;
    depth = n;
    unsigned long r = recurse(n + 1) + pad[0];
    __asm__ volatile("" ::: "memory");
    return r;
}

int main(int argc, char **argv) {
    probe_init();
    const char *mode = argc > 1 ? argv[1] : "handler";
    volatile char here;
    initial_sp = (unsigned long)&here;
    struct rlimit rl;
    getrlimit(RLIMIT_STACK, &rl);
    out("stack: mode %s, RLIMIT_STACK %ld KiB\n", mode,
        rl.rlim_cur == RLIM_INFINITY ? -1L : (long)(rl.rlim_cur >> 10));
    for (int i = 0; i < NMAPS; i++) {
        maps[i] = mmap(NULL, MAPSZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        memset(maps[i], 0xa5 ^ i, MAPSZ);
    }
    if (strcmp(mode, "handler") == 0) {
        stack_t ss = {.ss_sp = altstack_mem, .ss_size = sizeof altstack_mem, .ss_flags = 0};
        if (sigaltstack(&ss, NULL) != 0) {
            out("FAIL sigaltstack: %s\n", strerror(errno));
            return 1;
        }
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_segv;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigaction(SIGSEGV, &sa, NULL);
        sigaction(SIGBUS, &sa, NULL);
    }
    unsigned long r = recurse(0);
    out("FAIL recursion returned %lu\n", r);
    return 2;
}

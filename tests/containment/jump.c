/* jump.c — scenario 3: jumps into memory that is not code.
 *
 * Each jump runs in a forked child whose handler checks signal, si_code and
 * si_addr: an unmapped address (SIGSEGV/SEGV_MAPERR at the target), a readable
 * data page without PROT_EXEC (SEGV_ACCERR), a PROT_NONE page (SEGV_ACCERR),
 * code that ran and was then made non-executable or unmapped (the translation
 * must not survive: ACCERR / MAPERR), and on arm64 a misaligned target
 * (pc & 3 != 0: SIGBUS with BUS_ADRALN, si_addr = the pc).
 */
#include "probe.h"

typedef int (*fnptr)(void);

static void call(void *p) { ((fnptr)p)(); }

#ifdef __aarch64__
static const unsigned int ret42[] = {0x52800540 /* mov w0, #42 */, 0xd65f03c0 /* ret */};
#else
static const unsigned char ret42[] = {0xb8, 0x2a, 0, 0, 0, 0xc3}; /* mov eax,42; ret */
#endif

static void *fresh_code(long pg) {
    void *p = mmap(NULL, pg, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memcpy(p, ret42, sizeof ret42);
    __builtin___clear_cache((char *)p, (char *)p + sizeof ret42);
    return p;
}

int main(void) {
    probe_init();
    long pg = sysconf(_SC_PAGESIZE);

    probe("jump-null", call, (void *)0, SIGSEGV, SEGV_MAPERR, 0);
    probe("jump-unmapped", call, (void *)0xdead0000ul, SIGSEGV, SEGV_MAPERR, 0xdead0000ul);
    probe("jump-1<<46", call, (void *)(1ul << 46), SIGSEGV, SEGV_MAPERR, 1ul << 46);

    char *data = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memcpy(data, ret42, sizeof ret42); /* valid code bytes, but not executable */
    probe("jump-data-page", call, data, SIGSEGV, SEGV_ACCERR, (unsigned long)data);
    static long global_data[64] __attribute__((aligned(64)));
    probe("jump-global-data", call, global_data, SIGSEGV, SEGV_ACCERR, (unsigned long)global_data);
    char *none = mmap(NULL, pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    probe("jump-prot-none", call, none, SIGSEGV, SEGV_ACCERR, (unsigned long)none);

    /* Code that ran (and so may be translated), then lost PROT_EXEC. */
    char *code = fresh_code(pg);
    int r = ((fnptr)code)();
    if (r == 42) pass("jit-code-runs", "returned 42");
    else fail("jit-code-runs", "returned %d", r);
    mprotect(code, pg, PROT_READ | PROT_WRITE);
    probe("jump-code-made-noexec", call, code, SIGSEGV, SEGV_ACCERR, (unsigned long)code);
    /* Code that ran, then was unmapped. */
    char *code2 = fresh_code(pg);
    r = ((fnptr)code2)();
    munmap(code2, pg);
    probe("jump-code-unmapped", call, code2, SIGSEGV, SEGV_MAPERR, (unsigned long)code2);
    /* Code that ran, then was replaced by a data mapping at the same address. */
    char *code3 = fresh_code(pg);
    r = ((fnptr)code3)();
    mmap(code3, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    probe("jump-code-replaced-by-data", call, code3, SIGSEGV, SEGV_ACCERR, (unsigned long)code3);

#ifdef __aarch64__
    /* Misaligned targets: PC alignment fault. */
    unsigned long f = (unsigned long)fresh_code(pg);
    probe("jump-misaligned+2", call, (void *)(f + 2), SIGBUS, BUS_ADRALN, f + 2);
    probe("jump-misaligned+1", call, (void *)(f + 1), SIGBUS, BUS_ADRALN, f + 1);
    probe("jump-misaligned-unmapped", call, (void *)0xdead0002ul, SIGBUS, BUS_ADRALN, 0xdead0002ul);
#endif

    /* The parent still runs code, including the page it made earlier. */
    char *code4 = fresh_code(pg);
    r = ((fnptr)code4)();
    if (r == 42) pass("alive", "fresh code after %d probes returned 42", n_pass + n_fail);
    else fail("alive", "returned %d", r);
    return finish("jump");
}

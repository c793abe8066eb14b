/* jit.c — a tiny JIT: write machine code, run it, rewrite it, run it again.
 *
 * Generates `int f(int x) { return x + K; }` for the machine it runs on
 * (arm64: ADD w0, w0, #K; RET — x86-64: LEA eax, [rdi + K]; RET), so the arm64
 * build under an emulator and the native x86-64 build print the same lines.
 * Code is made visible the way the architecture requires (GCC's
 * __builtin___clear_cache: DC CVAU + IC IVAU on arm64), in four set-ups:
 *   1. an RWX page rewritten in place;
 *   2. an RW page made RX, then RW again for the rewrite, then RX;
 *   3. a second (dual) mapping of a memfd: written through the RW view, run
 *      through the RX view;
 *   4. another thread running the code in a loop while this one rewrites it
 *      (it sees every new version after an acquire and an ISB).
 * and, as emulators (and x86) give it, code rewritten WITHOUT IC IVAU in an RWX
 * page, by this thread, by another thread, and by read(2) from a file (the
 * architecture leaves such rewrites unpredictable on real arm64 hardware); and a
 * code page made PROT_NONE and RWX again, or RX and then RWX again.
 * Exit status: number of failed checks.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"

typedef int (*fn_t)(int);

/* Write `return x + k` (0 <= k < 4096) at `p`; returns its length. */
static size_t emit(uint8_t *p, unsigned k)
{
#ifdef __aarch64__
    uint32_t code[2] = {0x11000000u | (k << 10), 0xd65f03c0u}; /* add w0, w0, #k; ret */
    memcpy(p, code, sizeof code);
    return sizeof code;
#else
    uint8_t code[7] = {0x8d, 0x87, 0, 0, 0, 0, 0xc3}; /* lea eax, [rdi + k]; ret */
    memcpy(code + 2, &k, 4);
    memcpy(p, code, sizeof code);
    return sizeof code;
#endif
}

static void publish(void *exec_view, size_t n)
{
    __builtin___clear_cache((char *)exec_view, (char *)exec_view + n);
}

/* What the executing thread needs before it may run code another thread wrote:
 * an ISB on arm64, a serializing instruction on x86-64. */
static void context_sync(void)
{
#ifdef __aarch64__
    __asm__ volatile("isb" ::: "memory");
#else
    unsigned a = 0, b, c = 0, d;
    __asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d)::"memory");
#endif
}

static void rwx_page(long page)
{
    uint8_t *p = mmap(NULL, page, PROT_READ | PROT_WRITE | PROT_EXEC,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    if (p == MAP_FAILED)
        return;
    fn_t f = (fn_t)p;
    int sum = 0;
    for (unsigned k = 1; k <= 50; k++) {
        publish(p, emit(p, k));
        sum += f(1000);
    }
    printf("rwx page: 50 versions, sum %d (want %d)\n", sum, 50 * 1000 + 50 * 51 / 2);
    /* Code at another offset of the same page, and the first function again. */
    publish(p + 64, emit(p + 64, 7));
    printf("rwx page: second function %d, first %d\n", ((fn_t)(p + 64))(1), f(1));
    munmap(p, page);
}

static void rw_then_rx(long page)
{
    uint8_t *p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    if (p == MAP_FAILED)
        return;
    fn_t f = (fn_t)p;
    int results[3];
    for (unsigned v = 0; v < 3; v++) {
        CHECK(mprotect(p, page, PROT_READ | PROT_WRITE) == 0);
        publish(p, emit(p, 100 + v));
        CHECK(mprotect(p, page, PROT_READ | PROT_EXEC) == 0);
        results[v] = f(5);
    }
    printf("rw -> rx: %d %d %d\n", results[0], results[1], results[2]);
    munmap(p, page);
}

static void dual_mapping(long page)
{
    int fd = memfd_create("jit", 0);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    CHECK(ftruncate(fd, page) == 0);
    uint8_t *w = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    uint8_t *x = mmap(NULL, page, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
    CHECK(w != MAP_FAILED && x != MAP_FAILED);
    if (w == MAP_FAILED || x == MAP_FAILED)
        return;
    fn_t f = (fn_t)x;
    int a, b;
    size_t n = emit(w, 11);
    publish(x, n);
    a = f(0);
    n = emit(w, 22);
    publish(x, n);
    b = f(0);
    printf("dual mapping: %d then %d\n", a, b);
    munmap(w, page);
    munmap(x, page);
    close(fd);
}

static uint8_t *shared_code;
static atomic_uint version;  /* the K the code now adds */
static atomic_int stop;
static atomic_uint seen_bad; /* results from code older than the published version */
static atomic_uint calls;    /* calls the runner made */

static void *runner(void *arg)
{
    (void)arg;
    fn_t f = (fn_t)shared_code;
    while (!atomic_load_explicit(&stop, memory_order_acquire)) {
        unsigned before = atomic_load_explicit(&version, memory_order_acquire);
        context_sync();
        int r = f(0);
        /* The code that ran is at least version `before`: it was published (IC IVAU)
         * before that version number, and this thread synchronised since. (It may be
         * newer: the writer may already be storing the next version, and which of
         * the two a concurrently modified ADD executes is not defined.) */
        if ((unsigned)r < before)
            atomic_fetch_add(&seen_bad, 1);
        atomic_fetch_add_explicit(&calls, 1, memory_order_release);
    }
    return NULL;
}

/* Wait until the runner has made `n` more calls. */
static void let_run(unsigned n)
{
    unsigned target = atomic_load_explicit(&calls, memory_order_acquire) + n;
    while (atomic_load_explicit(&calls, memory_order_acquire) < target)
        sched_yield();
}

static void second_thread(long page)
{
    shared_code = mmap(NULL, page, PROT_READ | PROT_WRITE | PROT_EXEC,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(shared_code != MAP_FAILED);
    if (shared_code == MAP_FAILED)
        return;
    publish(shared_code, emit(shared_code, 1));
    atomic_store(&version, 1);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, runner, NULL) == 0);
    let_run(3);
    for (unsigned k = 2; k <= 200; k++) {
        publish(shared_code, emit(shared_code, k));
        atomic_store_explicit(&version, k, memory_order_release);
        let_run(3); /* the runner runs each version while it is current */
    }
    atomic_store_explicit(&stop, 1, memory_order_release);
    pthread_join(t, NULL);
    context_sync();
    printf("second thread: final version %d, stale results %u, calls >= 600: %d\n",
           ((fn_t)shared_code)(0), atomic_load(&seen_bad), atomic_load(&calls) >= 600);
    munmap(shared_code, page);
}

static uint8_t *unsynced_page;
static atomic_int written;

static void *writer(void *arg)
{
    emit(unsynced_page, (unsigned)(uintptr_t)arg);
    atomic_store_explicit(&written, 1, memory_order_release);
    return NULL;
}

static void without_ic_ivau(long page)
{
    uint8_t *p = mmap(NULL, page, PROT_READ | PROT_WRITE | PROT_EXEC,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    if (p == MAP_FAILED)
        return;
    fn_t f = (fn_t)p;
    publish(p, emit(p, 3));
    int r0 = f(0);
    emit(p, 4); /* same thread, no cache maintenance */
    int r1 = f(0);
    for (unsigned k = 10; k < 20; k++) /* many rewrites in a row */
        emit(p, k);
    int r2 = f(0);
    unsynced_page = p;
    pthread_t t;
    CHECK(pthread_create(&t, NULL, writer, (void *)(uintptr_t)5) == 0);
    while (!atomic_load_explicit(&written, memory_order_acquire))
        sched_yield();
    pthread_join(t, NULL);
    int r3 = f(0);
    /* read(2) puts new code in place: the host kernel writes the page. */
    uint8_t code[16];
    size_t n = emit(code, 77);
    char path[] = "/tmp/jit-code-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    int r4 = -1;
    if (fd >= 0) {
        unlink(path);
        CHECK(write(fd, code, n) == (ssize_t)n);
        CHECK(lseek(fd, 0, SEEK_SET) == 0);
        CHECK(read(fd, p, n) == (ssize_t)n);
        close(fd);
        r4 = f(0);
    }
    printf("without IC IVAU: %d %d %d %d %d\n", r0, r1, r2, r3, r4);
    munmap(p, page);
}

/* Protection changes of a code page: PROT_NONE and back to RWX, then RX made RWX
 * again and rewritten with plain stores (no IC IVAU, as above). */
static void protection_changes(long page)
{
    uint8_t *m = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE | PROT_EXEC,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED);
    if (m == MAP_FAILED)
        return;
    uint8_t *p = m + page;
    fn_t f = (fn_t)p;
    publish(p, emit(p, 1));
    int a = f(100);
    CHECK(mprotect(p, page, PROT_NONE) == 0);
    CHECK(mprotect(p, page, PROT_READ | PROT_WRITE | PROT_EXEC) == 0);
    int b = f(100);
    publish(p, emit(p, 2));
    int c = f(100);
    CHECK(mprotect(m, 3 * page, PROT_NONE) == 0);
    CHECK(mprotect(m, 3 * page, PROT_READ | PROT_WRITE | PROT_EXEC) == 0);
    publish(p, emit(p, 3));
    int d = f(100);
    /* RX, run, then RWX again: a plain store must be seen by the next call. */
    CHECK(mprotect(p, page, PROT_READ | PROT_EXEC) == 0);
    int e = f(100);
    CHECK(mprotect(p, page, PROT_READ | PROT_WRITE | PROT_EXEC) == 0);
    emit(p, 4);
    context_sync();
    int g = f(100);
    printf("protection changes: %d %d %d %d %d %d\n", a, b, c, d, e, g);
    CHECK(a == 101 && b == 101 && c == 102 && d == 103 && e == 103 && g == 104);
    munmap(m, 3 * page);
}

int main(void)
{
    long page = sysconf(_SC_PAGESIZE);
    rwx_page(page);
    rw_then_rx(page);
    dual_mapping(page);
    second_thread(page);
    without_ic_ivau(page);
    protection_changes(page);
    printf("jit: %s (%d failures)\n", failures ? "FAIL" : "ok", failures);
    return failures;
}

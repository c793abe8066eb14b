/* branchrace.c — indirect branches of several threads whose targets share the slot of
 * an emulator's indirect-branch cache.
 *
 * Three tiny functions return 1, 2 and 3; on arm64 they sit exactly 256 KiB apart,
 * so a translator that caches indirect-branch targets by (pc >> 2) modulo a
 * power-of-two table size gives them the same slot. One thread calls the first
 * through a function pointer millions of times while two others keep calling the
 * other two (and the first now and then), in several rounds, so the shared slot is replaced over and over while the first thread
 * reads it. Every call must return its own function's value. (A cache entry read
 * half before and half after another thread replaced it sends a call to the wrong
 * function.)
 * Exit status: number of failed checks.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "check.h"

typedef int (*fn_t)(void);

#if defined(__aarch64__)
__asm__(".pushsection .text.branchrace, \"ax\", @progbits\n"
        ".balign 4096\n"
        "br_f1: mov w0, #1\n"
        "       ret\n"
        ".skip 0x40000 - 8\n"
        "br_f2: mov w0, #2\n"
        "       ret\n"
        ".skip 0x40000 - 8\n"
        "br_f3: mov w0, #3\n"
        "       ret\n"
        ".popsection\n");
#elif defined(__x86_64__)
__asm__(".pushsection .text.branchrace, \"ax\", @progbits\n"
        "br_f1: mov $1, %eax\n"
        "       ret\n"
        "br_f2: mov $2, %eax\n"
        "       ret\n"
        "br_f3: mov $3, %eax\n"
        "       ret\n"
        ".popsection\n");
#else
#error "unsupported architecture"
#endif
int br_f1(void) __asm__("br_f1");
int br_f2(void) __asm__("br_f2");
int br_f3(void) __asm__("br_f3");

/* Through volatile pointers, so that every call is an indirect branch. */
static fn_t volatile fns[3] = {br_f1, br_f2, br_f3};
static atomic_int stop;

#define CALLS 3000000L
#define ROUNDS 5

static void *reader(void *arg)
{
    (void)arg;
    long wrong = 0;
    for (long i = 0; i < CALLS; i++)
        if (fns[0]() != 1)
            wrong++;
    return (void *)wrong;
}

static void *replacer(void *arg)
{
    long which = (long)arg; /* 1 or 2 */
    long wrong = 0, n = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed) || n < 1000) {
        if (fns[which]() != which + 1)
            wrong++;
        /* the reader's function now and then */
        if ((n++ & 3) == 0 && fns[0]() != 1)
            wrong++;
    }
    return (void *)wrong;
}

int main(void)
{
    long wrong_reader = 0, wrong_others = 0;
    for (int round = 0; round < ROUNDS; round++) {
        pthread_t r, a, b;
        atomic_store(&stop, 0);
        CHECK(pthread_create(&a, NULL, replacer, (void *)1L) == 0);
        CHECK(pthread_create(&b, NULL, replacer, (void *)2L) == 0);
        CHECK(pthread_create(&r, NULL, reader, NULL) == 0);
        void *wr, *wa, *wb;
        pthread_join(r, &wr);
        atomic_store(&stop, 1);
        pthread_join(a, &wa);
        pthread_join(b, &wb);
        wrong_reader += (long)wr;
        wrong_others += (long)wa + (long)wb;
    }
    printf("wrong results: reader %ld, others %ld\n", wrong_reader, wrong_others);
    CHECK(wrong_reader == 0 && wrong_others == 0);
    return failures;
}

/* check.h — the self-check every guest program uses: CHECK(c) prints the failed
 * condition and its line, and counts it in `failures` (most programs return that
 * count as their exit status). */
#ifndef GUEST_CHECK_H
#define GUEST_CHECK_H
#include <errno.h>
#include <stdio.h>

static int failures;
#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c)) {                                                            \
            printf("CHECK FAILED line %d: %s\n", __LINE__, #c);                \
            failures++;                                                        \
        }                                                                      \
    } while (0)

/* SHOW(label, expr): evaluate a system call expression and print its result and errno
 * (0 when it succeeded), the form the system-call programs compare with native. */
#define SHOW(label, expr)                                                      \
    do {                                                                       \
        errno = 0;                                                             \
        long r_ = (long)(expr);                                                \
        int e_ = errno;                                                        \
        printf("%s: %ld errno=%d\n", label, r_, e_);                           \
    } while (0)

#endif

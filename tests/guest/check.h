/* check.h — the self-check every guest program uses: CHECK(c) prints the failed
 * condition and its line, and counts it in `failures` (most programs return that
 * count as their exit status). */
#ifndef GUEST_CHECK_H
#define GUEST_CHECK_H
#include <stdio.h>

static int failures;
#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c)) {                                                            \
            printf("CHECK FAILED line %d: %s\n", __LINE__, #c);                \
            failures++;                                                        \
        }                                                                      \
    } while (0)

#endif

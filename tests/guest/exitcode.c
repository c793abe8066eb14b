/* exitcode.c — the ways a process ends.
 *
 * Usage: exitcode MODE [N]
 *   exit N      exit(N) after an atexit handler and a buffered (unflushed) line
 *   return N    return N from main
 *   _exit N     _exit(N): atexit handlers do NOT run, stdio is NOT flushed
 *   abort       abort(): killed by SIGABRT
 *   kill SIG    raise(SIG) with default disposition (e.g. 15 = SIGTERM)
 *   segv        write through a NULL pointer: killed by SIGSEGV
 * Output goes through a fully buffered stdout (to a pipe), so what is printed
 * also tests flushing at exit.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void bye(void)
{
    printf("atexit handler ran\n");
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "return";
    int n = argc > 2 ? atoi(argv[2]) : 0;

    if (atexit(bye) != 0)
        return 99;
    printf("mode=%s n=%d\n", mode, n);

    if (strcmp(mode, "exit") == 0) {
        exit(n);
    } else if (strcmp(mode, "return") == 0) {
        return n;
    } else if (strcmp(mode, "_exit") == 0) {
        /* flush what we have so far, then print something that must vanish */
        fflush(stdout);
        printf("this line is never flushed\n");
        _exit(n);
    } else if (strcmp(mode, "abort") == 0) {
        fflush(stdout);
        abort();
    } else if (strcmp(mode, "kill") == 0) {
        fflush(stdout);
        signal(n, SIG_DFL);
        raise(n);
        printf("still alive after raise(%d)\n", n);
        return 98;
    } else if (strcmp(mode, "segv") == 0) {
        fflush(stdout);
        volatile int *volatile p = NULL;
        *p = 42;
        return 97;
    }
    printf("unknown mode\n");
    return 2;
}

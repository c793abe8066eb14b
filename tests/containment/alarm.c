/* alarm.c — scenario 6: endless loops ended by SIGALRM.
 *
 *   alarm plain      alarm(1); for (;;); — death by SIGALRM (no core report).
 *   alarm busy       alarm(1); a loop doing loads and stores — death by SIGALRM.
 *   alarm longjmp    a SIGALRM handler siglongjmps out of the endless loop,
 *                    three times in a row (the handler's mask must be restored
 *                    by siglongjmp, or the second alarm would never arrive);
 *                    prints "ok" and exits 0.
 */
#include "probe.h"
#include <setjmp.h>
#include <sys/time.h>

static sigjmp_buf env;
static volatile int escapes;

static void on_alarm(int sig) {
    (void)sig;
    escapes++;
    siglongjmp(env, 1);
}

int main(int argc, char **argv) {
    probe_init();
    const char *mode = argc > 1 ? argv[1] : "plain";
    if (strcmp(mode, "plain") == 0) {
        out("looping until SIGALRM\n");
        alarm(1);
        for (;;)
            ;
    }
    if (strcmp(mode, "busy") == 0) {
        static volatile unsigned long cells[64];
        out("busy loop until SIGALRM\n");
        alarm(1);
        for (unsigned long i = 0;; i++) cells[i & 63] += i ^ cells[(i * 7) & 63];
    }
    if (strcmp(mode, "longjmp") == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_alarm;
        sigaction(SIGALRM, &sa, NULL);
        volatile unsigned long spins = 0;
        while (escapes < 3) {
            if (sigsetjmp(env, 1) == 0) {
                struct itimerval it = {{0, 0}, {0, 200000}};
                setitimer(ITIMER_REAL, &it, NULL);
                for (;;) spins++;
            }
            out("escaped from the loop (%d)\n", escapes);
        }
        sigset_t cur;
        sigprocmask(SIG_BLOCK, NULL, &cur);
        if (sigismember(&cur, SIGALRM)) {
            out("FAIL SIGALRM still blocked after siglongjmp\n");
            return 1;
        }
        out("spun %s\nok\n", spins > 0 ? "a while" : "never");
        return 0;
    }
    out("unknown mode %s\n", mode);
    return 2;
}

/* forkbomb.c — scenario 5: a fork bomb capped by RLIMIT_NPROC.
 *
 * RLIMIT_NPROC is not enforced for root (CAP_SYS_RESOURCE/CAP_SYS_ADMIN), so
 * when started as root the program first becomes nobody (uid/gid 65534). It
 * then sets RLIMIT_NPROC to argv[1] (default 12) and forks until fork fails;
 * the children just pause(). The failure must be EAGAIN, the number of
 * children at most the limit; the parent then kills every child with SIGKILL,
 * reaps them all (each must have died by SIGKILL) and prints "ok". A hard cap
 * of 200 forks keeps a limit that is not enforced from turning into a real
 * fork bomb (reported as a failure).
 */
#include "probe.h"
#include <grp.h>
#include <sys/resource.h>

#define CAP 200

int main(int argc, char **argv) {
    probe_init();
    long limit = argc > 1 ? atol(argv[1]) : 12;
    if (geteuid() == 0) {
        if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0) {
            fail("drop-root", "cannot become nobody: %s", strerror(errno));
            return finish("forkbomb");
        }
        pass("drop-root", "now uid %d gid %d", (int)getuid(), (int)getgid());
    } else {
        out("note: not root (uid %d): RLIMIT_NPROC applies as is\n", (int)getuid());
    }
    struct rlimit rl = {limit, limit};
    if (setrlimit(RLIMIT_NPROC, &rl) != 0) {
        fail("setrlimit", "%s", strerror(errno));
        return finish("forkbomb");
    }
    static pid_t kids[CAP];
    int n = 0, err = 0;
    while (n < CAP) {
        pid_t p = fork();
        if (p == 0) {
            for (;;) pause();
        }
        if (p < 0) {
            err = errno;
            break;
        }
        kids[n++] = p;
    }
    out("forked %d children before fork failed (limit %ld)\n", n, limit);
    if (n == CAP) fail("limit-enforced", "%d forks succeeded: RLIMIT_NPROC %ld not enforced", n, limit);
    else if (err != EAGAIN) fail("fork-errno", "fork failed with %s, want EAGAIN", strerror(err));
    else if (n > limit) fail("limit-enforced", "%d children > limit %ld", n, limit);
    else pass("limit-enforced", "fork failed with EAGAIN after %d children", n);
    for (int i = 0; i < n; i++) kill(kids[i], SIGKILL);
    int bad = 0;
    for (int i = 0; i < n; i++) {
        int st;
        if (waitpid(kids[i], &st, 0) != kids[i] || !WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL) bad++;
    }
    if (bad) fail("reap", "%d of %d children not reaped as killed by SIGKILL", bad, n);
    else pass("reap", "all %d children killed and reaped", n);
    if (waitpid(-1, NULL, WNOHANG) != -1 || errno != ECHILD) fail("no-children-left", "waitpid did not say ECHILD");
    else pass("no-children-left", "ECHILD");
    return finish("forkbomb");
}

/* process.c — fork, wait, pipes between processes, shared vs private memory
 * after fork, SIGCHLD, vfork, posix_spawn and system()/popen() of host
 * programs (/bin/sh, /bin/echo run natively under an emulator).
 * stdout is flushed before every fork so children's output cannot be
 * duplicated; children write only through pipes or after the parent waits.
 * Exit status: number of failed checks.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#include "check.h"

static void describe(const char *what, int status)
{
    if (WIFEXITED(status))
        printf("%s: exited %d\n", what, WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        printf("%s: killed by signal %d%s\n", what, WTERMSIG(status),
               WTERMSIG(status) == SIGTERM ? " (SIGTERM)" : WTERMSIG(status) == SIGKILL ? " (SIGKILL)" : "");
    else
        printf("%s: status %#x\n", what, status);
}

static volatile sig_atomic_t sigchld_count;
static void on_chld(int sig)
{
    (void)sig;
    sigchld_count++;
}

static int global_var = 100;

int main(void)
{
    pid_t me = getpid();

    /* --- fork + pipe + exit code ----------------------------------------- */
    int p[2];
    CHECK(pipe(p) == 0);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        close(p[0]);
        char msg[64];
        int n = snprintf(msg, sizeof msg, "child: ppid-ok=%d pid-differs=%d",
                         getppid() == me, getpid() != me);
        if (write(p[1], msg, (size_t)n) != n)
            _exit(99);
        global_var = 999; /* private to the child */
        _exit(7);
    }
    CHECK(c > 0);
    close(p[1]);
    char buf[128] = {0};
    ssize_t got = 0, r;
    while ((r = read(p[0], buf + got, sizeof buf - 1 - (size_t)got)) > 0)
        got += r;
    close(p[0]);
    printf("from pipe: [%s]\n", buf);
    int st;
    pid_t w = waitpid(c, &st, 0);
    printf("waitpid returned child: %d\n", w == c);
    describe("child 1", st);
    printf("global_var in parent still: %d\n", global_var);

    /* --- child killed by a signal ---------------------------------------- */
    fflush(stdout);
    c = fork();
    if (c == 0) {
        raise(SIGTERM);
        _exit(1);
    }
    waitpid(c, &st, 0);
    describe("child raising SIGTERM", st);
    fflush(stdout);
    c = fork();
    if (c == 0) {
        pause(); /* until killed */
        _exit(1);
    }
    kill(c, SIGKILL);
    waitpid(c, &st, 0);
    describe("child killed by parent", st);

    /* --- shared anonymous memory across fork ----------------------------- */
    int *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int *priv = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(shared != MAP_FAILED && priv != MAP_FAILED);
    *shared = 1;
    *priv = 1;
    fflush(stdout);
    c = fork();
    if (c == 0) {
        *shared = 42;
        *priv = 42;
        _exit(0);
    }
    waitpid(c, &st, 0);
    printf("after child wrote: shared=%d private=%d\n", *shared, *priv);
    CHECK(*shared == 42 && *priv == 1);

    /* --- many children, WNOHANG, SIGCHLD --------------------------------- */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_chld;
    sigaction(SIGCHLD, &sa, NULL);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGCHLD);
    int gate[2];
    CHECK(pipe(gate) == 0);
    fflush(stdout);
    pid_t kids[5];
    for (int i = 0; i < 5; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            close(gate[1]);
            char ch;
            while (read(gate[0], &ch, 1) < 0 && errno == EINTR)
                ;
            _exit(10 + i);
        }
    }
    close(gate[0]);
    w = waitpid(-1, &st, WNOHANG);
    printf("WNOHANG while children blocked: %d\n", w);
    close(gate[1]); /* releases all children (EOF) */
    int codes[5], n = 0;
    sigprocmask(SIG_BLOCK, &block, &old);
    while (n < 5) {
        w = wait(&st);
        if (w < 0)
            break;
        int idx = -1;
        for (int i = 0; i < 5; i++)
            if (kids[i] == w)
                idx = i;
        CHECK(idx >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 10 + idx);
        codes[n++] = WEXITSTATUS(st);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    int sum = 0;
    for (int i = 0; i < n; i++)
        sum += codes[i];
    w = wait(&st);
    printf("reaped %d children, code sum=%d, wait with none left: %d ECHILD=%d, SIGCHLD seen=%d\n",
           n, sum, w, errno == ECHILD, sigchld_count > 0);
    signal(SIGCHLD, SIG_DFL);

    /* --- waitid and rusage ----------------------------------------------- */
    fflush(stdout);
    c = fork();
    if (c == 0)
        _exit(3);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    CHECK(waitid(P_PID, (id_t)c, &si, WEXITED) == 0);
    printf("waitid: code=%s status=%d pid-match=%d\n",
           si.si_code == CLD_EXITED ? "CLD_EXITED" : "other", si.si_status, si.si_pid == c);
    fflush(stdout);
    c = fork();
    if (c == 0)
        _exit(4);
    struct rusage ru;
    w = wait4(c, &st, 0, &ru);
    printf("wait4: match=%d ", w == c);
    describe("status", st);

    /* --- vfork ------------------------------------------------------------ */
    /* Only _exit/exec are defined in a vfork child (POSIX): whether memory is
     * shared is not observable by a correct program, so it is not checked. */
    fflush(stdout);
    c = vfork();
    if (c == 0)
        _exit(5);
    waitpid(c, &st, 0);
    describe("vfork child", st);
    fflush(stdout);
    c = vfork();
    if (c == 0) {
        char *targv[] = {"true", NULL};
        execv("/bin/true", targv);
        _exit(126);
    }
    waitpid(c, &st, 0);
    describe("vfork+exec /bin/true", st);
    /* Linux shares the parent's memory with a vfork child: what the child wrote
     * before _exit (here, like posix_spawn, the errno of a failed exec) is seen
     * by the parent, whose calling thread slept until then. */
    static volatile int vfork_seen;
    vfork_seen = 0;
    fflush(stdout);
    c = vfork();
    if (c == 0) {
        char *targv[] = {"nope", NULL};
        execv("/nonexistent/program", targv);
        vfork_seen = errno == ENOENT ? 2 : 1;
        _exit(127);
    }
    waitpid(c, &st, 0);
    printf("vfork child's write seen by the parent: %d\n", vfork_seen);

    /* --- posix_spawn of host programs, and fd inheritance --------------- */
    fflush(stdout);
    pid_t sp;
    char *argv_echo[] = {"echo", "spawned", "echo", "says", "hi", NULL};
    int rc = posix_spawn(&sp, "/bin/echo", NULL, NULL, argv_echo, environ);
    /* wait before printing: the child writes to our stdout directly, and a
     * fork-like spawn (no CLONE_VFORK wait) may run it at any time */
    if (rc == 0)
        waitpid(sp, &st, 0);
    printf("posix_spawn rc=%d\n", rc);
    if (rc == 0)
        describe("echo", st);
    char *argv_false[] = {"false", NULL};
    rc = posix_spawnp(&sp, "false", NULL, NULL, argv_false, environ);
    if (rc == 0) {
        waitpid(sp, &st, 0);
        describe("spawnp false", st);
    }
    char *argv_none[] = {"nope", NULL};
    rc = posix_spawn(&sp, "/nonexistent/program", NULL, NULL, argv_none, environ);
    printf("posix_spawn missing program: rc=%s\n", rc == ENOENT ? "ENOENT" : rc == 0 ? "0" : "other");
    if (rc == 0)
        waitpid(sp, &st, 0);

    /* --- system / popen (run /bin/sh natively) ---------------------------- */
    fflush(stdout);
    st = system("exit 3");
    describe("system(exit 3)", st);
    fflush(stdout);
    st = system("echo from system; kill -TERM $$");
    describe("system(kill self)", st);
    FILE *pf = popen("printf 'line1\\nline2\\n'; echo \"args: $0\" >/dev/null", "r");
    CHECK(pf != NULL);
    char line[128];
    int lines = 0;
    while (fgets(line, sizeof line, pf)) {
        printf("popen read: %s", line);
        lines++;
    }
    st = pclose(pf);
    printf("popen lines=%d ", lines);
    describe("pclose", st);
    pf = popen("cat > /dev/null; exit 9", "w");
    fputs("data for the child\n", pf);
    st = pclose(pf);
    describe("popen w", st);

    /* --- process groups and sessions -------------------------------------- */
    fflush(stdout);
    c = fork();
    if (c == 0) {
        int ok = setpgid(0, 0) == 0 && getpgrp() == getpid();
        pid_t sid = setsid(); /* fails: we are a group leader now */
        ok = ok && sid == -1 && errno == EPERM;
        _exit(ok ? 0 : 1);
    }
    waitpid(c, &st, 0);
    describe("setpgid/setsid child", st);

    printf("process: %s (%d failures)\n", failures ? "FAIL" : "ok", failures);
    return failures;
}

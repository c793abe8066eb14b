/* clone3.c — clone3 for new processes: struct clone_args size rules (EINVAL, E2BIG,
 * larger zero-padded structs), flag and exit_signal checks, CLONE_PIDFD (with and
 * without CLONE_PARENT_SETTID), CLONE_CHILD_SETTID, CLONE_CLEAR_SIGHAND, and a thread
 * made by glibc's pthread_create (which tries clone3 first). */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/sched.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#ifndef CLONE_CLEAR_SIGHAND
#define CLONE_CLEAR_SIGHAND 0x100000000ULL
#endif


struct args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls,
        set_tid, set_tid_size, cgroup;
    uint64_t extra[2];
};

static long clone3(struct args *a, size_t size) { return syscall(SYS_clone3, a, size); }

/* Runs clone3; the child exits with `code`; returns the child's exit status or -errno. */
static int run(struct args *a, size_t size, int code) {
    fflush(stdout);
    long pid = clone3(a, size);
    if (pid < 0)
        return -errno;
    if (pid == 0)
        _exit(code);
    int st = 0;
    if (waitpid((pid_t)pid, &st, a->exit_signal == SIGCHLD ? 0 : __WALL) != pid)
        return -1000;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -2000;
}

static void on_usr1(int s) { (void)s; }

static void *thread_fn(void *p) { return (char *)p + 1; }

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct args a;
    memset(&a, 0, sizeof a);
    a.exit_signal = SIGCHLD;
    printf("plain: %d\n", run(&a, 64, 7));
    printf("size 63: %d\n", run(&a, 63, 0));
    printf("size 4097: %d\n", run(&a, 4097, 0));
    printf("size 104 zero-padded: %d\n", run(&a, 104, 8));
    a.extra[0] = 1;
    printf("size 104 non-zero tail: %d\n", run(&a, 104, 0));
    a.extra[0] = 0;
    a.flags = SIGCHLD;
    printf("signal in flags: %d\n", run(&a, 64, 0));
    a.flags = 0;
    a.exit_signal = 65;
    printf("exit_signal 65: %d\n", run(&a, 64, 0));
    a.exit_signal = SIGCHLD;
    a.stack_size = 4096;
    printf("stack_size without stack: %d\n", run(&a, 64, 0));
    a.stack_size = 0;
    a.flags = CLONE_CLEAR_SIGHAND | CLONE_SIGHAND | CLONE_VM;
    printf("CLEAR_SIGHAND with SIGHAND: %d\n", run(&a, 64, 0));
    a.flags = CLONE_THREAD | CLONE_SIGHAND | CLONE_VM;
    printf("THREAD with exit_signal: %d\n", run(&a, 64, 0));
    a.flags = 0x400000000ULL;
    printf("unknown flag: %d\n", run(&a, 64, 0));
    a.exit_signal = 0;
    a.flags = 0;
    printf("no exit signal: %d\n", run(&a, 64, 9));
    a.exit_signal = SIGCHLD;

    /* CLONE_PIDFD, CLONE_PARENT_SETTID, CLONE_CHILD_SETTID. */
    int pidfd = -1;
    pid_t ptid = 0;
    static pid_t ctid;
    a.flags = CLONE_PIDFD | CLONE_PARENT_SETTID | CLONE_CHILD_SETTID;
    a.pidfd = (uint64_t)(uintptr_t)&pidfd;
    a.parent_tid = (uint64_t)(uintptr_t)&ptid;
    a.child_tid = (uint64_t)(uintptr_t)&ctid;
    fflush(stdout);
    long pid = clone3(&a, 64);
    if (pid == 0)
        _exit(ctid == getpid() ? 3 : 4);
    struct pollfd pf = {pidfd, POLLIN, 0};
    int pr = poll(&pf, 1, 5000);
    int st;
    waitpid((pid_t)pid, &st, 0);
    printf("pidfd: valid=%d poll=%d revents-in=%d parent_tid-ok=%d child status %d\n",
           pidfd >= 0, pr, (pf.revents & POLLIN) != 0, ptid == pid, WEXITSTATUS(st));
    close(pidfd);

    /* CLONE_CLEAR_SIGHAND: handlers reset, ignored signals stay ignored. */
    signal(SIGUSR1, on_usr1);
    signal(SIGUSR2, SIG_IGN);
    memset(&a, 0, sizeof a);
    a.exit_signal = SIGCHLD;
    a.flags = CLONE_CLEAR_SIGHAND;
    fflush(stdout);
    pid = clone3(&a, 64);
    if (pid == 0) {
        struct sigaction s1, s2;
        sigaction(SIGUSR1, NULL, &s1);
        sigaction(SIGUSR2, NULL, &s2);
        _exit((s1.sa_handler == SIG_DFL ? 1 : 0) | (s2.sa_handler == SIG_IGN ? 2 : 0));
    }
    waitpid((pid_t)pid, &st, 0);
    struct sigaction s1;
    sigaction(SIGUSR1, NULL, &s1);
    printf("CLEAR_SIGHAND: child %d, parent keeps handler %d\n", WEXITSTATUS(st),
           s1.sa_handler == on_usr1);

    /* glibc's pthread_create goes through clone3 first. */
    pthread_t t;
    char buf[2];
    void *ret = NULL;
    CHECK(pthread_create(&t, NULL, thread_fn, buf) == 0);
    pthread_join(t, &ret);
    printf("thread: %d\n", ret == buf + 1);
    return failures;
}

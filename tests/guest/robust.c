/* robust.c — robust futex lists: get_robust_list/set_robust_list, and robust mutexes
 * whose owner dies: a thread that exits holding one (EOWNERDEAD for the next locker,
 * pthread_mutex_consistent, ENOTRECOVERABLE when left inconsistent), a waiter blocked
 * when the owner thread exits, and a process-shared mutex whose owner process dies. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static pthread_mutex_t m1, m2;

static void robust_init(pthread_mutex_t *m, int pshared) {
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    CHECK(pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST) == 0);
    if (pshared)
        CHECK(pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED) == 0);
    int r = pthread_mutex_init(m, &a);
    printf("robust mutex init: %d\n", r);
    pthread_mutexattr_destroy(&a);
}

static void *take_and_exit(void *arg) {
    pthread_mutex_t *m = arg;
    pthread_mutex_lock(m);
    return NULL; /* exits holding it */
}

static void *hold_then_exit(void *arg) {
    pthread_mutex_t *m = arg;
    pthread_mutex_lock(m);
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL); /* the main thread blocks on it meanwhile */
    pthread_exit(NULL);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    void *head = NULL;
    size_t len = 0;
    long r = syscall(SYS_get_robust_list, 0, &head, &len);
    printf("get_robust_list: %ld len=%zu head-set=%d\n", r, len, head != NULL);
    errno = 0;
    r = syscall(SYS_set_robust_list, head, len - 1);
    printf("set_robust_list bad len: %ld errno=%d\n", r, errno);
    errno = 0;
    r = syscall(SYS_get_robust_list, 0x3fffffff, &head, &len);
    printf("get_robust_list no such thread: %ld errno=%d\n", r, errno);

    /* A thread exits holding a robust mutex. */
    robust_init(&m1, 0);
    pthread_t t;
    pthread_create(&t, NULL, take_and_exit, &m1);
    pthread_join(t, NULL);
    int e = pthread_mutex_lock(&m1);
    printf("lock after owner thread exit: %s\n", e == EOWNERDEAD ? "EOWNERDEAD" : strerror(e));
    /* Left inconsistent: unusable from then on. */
    pthread_mutex_unlock(&m1);
    e = pthread_mutex_lock(&m1);
    printf("lock after unlock without consistent: %s\n",
           e == ENOTRECOVERABLE ? "ENOTRECOVERABLE" : strerror(e));

    /* A waiter blocked while the owner exits is woken with EOWNERDEAD. */
    robust_init(&m2, 0);
    pthread_create(&t, NULL, hold_then_exit, &m2);
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    e = pthread_mutex_lock(&m2);
    printf("blocked waiter: %s\n", e == EOWNERDEAD ? "EOWNERDEAD" : strerror(e));
    if (e == EOWNERDEAD)
        printf("consistent: %d\n", pthread_mutex_consistent(&m2));
    printf("unlock: %d\n", pthread_mutex_unlock(&m2));
    printf("relock: %d\n", pthread_mutex_lock(&m2));
    pthread_mutex_unlock(&m2);
    pthread_join(t, NULL);

    /* Process-shared: the owner process dies holding it. */
    pthread_mutex_t *pm = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                               -1, 0);
    robust_init(pm, 1);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        pthread_mutex_lock(pm);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    e = pthread_mutex_lock(pm);
    printf("after owner process died: %s\n", e == EOWNERDEAD ? "EOWNERDEAD" : strerror(e));
    if (e == EOWNERDEAD)
        pthread_mutex_consistent(pm);
    pthread_mutex_unlock(pm);
    /* A child killed by a signal while holding it. */
    int pp[2];
    CHECK(pipe(pp) == 0);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        pthread_mutex_lock(pm);
        (void)!write(pp[1], "l", 1);
        for (;;)
            pause();
    }
    char c;
    CHECK(read(pp[0], &c, 1) == 1);
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    e = pthread_mutex_lock(pm);
    printf("after owner process was killed: %s\n",
           e == EOWNERDEAD ? "EOWNERDEAD" : strerror(e));
    return failures;
}

/* aio.c — Linux native AIO through raw system calls, as libaio makes them: the ring
 * header and its /proc/self/maps line, PWRITE/PWRITEV/PREAD/PREADV on a file with the
 * aio_data echo, events consumed from the ring in user space (libaio's fast path),
 * io_getevents/io_pgetevents timeouts, eventfd notification, POLL, errors,
 * io_destroy, and fork (rings are not inherited). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"


/* The kernel's ring header (fs/aio.c), followed by io_event[nr]. */
struct aio_ring {
    unsigned id, nr, head, tail, magic, compat_features, incompat_features, header_length;
    struct io_event io_events[];
};

static long io_setup(unsigned n, aio_context_t *c) { return syscall(SYS_io_setup, n, c); }
static long io_destroy(aio_context_t c) { return syscall(SYS_io_destroy, c); }
static long io_submit(aio_context_t c, long n, struct iocb **v) {
    return syscall(SYS_io_submit, c, n, v);
}
static long io_getevents(aio_context_t c, long mn, long n, struct io_event *e,
                         struct timespec *t) {
    return syscall(SYS_io_getevents, c, mn, n, e, t);
}
static long io_cancel(aio_context_t c, struct iocb *i, struct io_event *e) {
    return syscall(SYS_io_cancel, c, i, e);
}

/* Prints the permissions and name of the mapping starting at `addr`. */
static void show_map(const char *what, unsigned long addr) {
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    int found = 0;
    while (f && fgets(line, sizeof line, f)) {
        unsigned long s, e;
        char perms[8];
        int n = 0;
        if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &s, &e, perms, &n) < 3 || s != addr)
            continue;
        char *name = line + n;
        name[strcspn(name, "\n")] = 0;
        printf("%s: %s %s\n", what, perms, name);
        found = 1;
    }
    if (f)
        fclose(f);
    if (!found)
        printf("%s: no mapping\n", what);
}

static void prep(struct iocb *cb, int op, int fd, void *buf, size_t n, long off, uint64_t data) {
    memset(cb, 0, sizeof *cb);
    cb->aio_lio_opcode = op;
    cb->aio_fildes = fd;
    cb->aio_buf = (uint64_t)(uintptr_t)buf;
    cb->aio_nbytes = n;
    cb->aio_offset = off;
    cb->aio_data = data;
}

static void show_events(const char *what, struct io_event *ev, int n, struct iocb **cbs) {
    for (int i = 0; i < n; i++) {
        int which = -1;
        for (int j = 0; cbs[j]; j++)
            if (ev[i].obj == (uint64_t)(uintptr_t)cbs[j])
                which = j;
        printf("%s: data=%#llx iocb=%d res=%lld res2=%lld\n", what,
               (unsigned long long)ev[i].data, which, (long long)ev[i].res,
               (long long)ev[i].res2);
    }
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    aio_context_t ctx = 0;
    CHECK(io_setup(64, &ctx) == 0);
    struct aio_ring *ring = (struct aio_ring *)ctx;
    printf("ring: magic=%#x nr>=64:%d head=%u tail=%u header_length=%u incompat=%u\n",
           ring->magic, ring->nr >= 64, ring->head, ring->tail, ring->header_length,
           ring->incompat_features);
    show_map("ring mapping", ctx);
    aio_context_t bad = 0;
    SHOW("io_setup(0)", io_setup(0, &bad));
    bad = 1;
    SHOW("io_setup(ctx != 0)", io_setup(8, &bad));

    char path[] = "/tmp/ferrite-aio-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    unlink(path);

    static char w1[8192], w2a[100], w2b[4000], r1[8192], r2a[100], r2b[4000];
    for (int i = 0; i < 8192; i++)
        w1[i] = (char)('a' + i % 26);
    memset(w2a, 'X', sizeof w2a);
    memset(w2b, 'Y', sizeof w2b);

    struct iocb c1, c2, *cbs[3] = {&c1, &c2, NULL};
    struct iovec wv[2] = {{w2a, sizeof w2a}, {w2b, sizeof w2b}};
    prep(&c1, IOCB_CMD_PWRITE, fd, w1, sizeof w1, 0, 0x1111);
    prep(&c2, IOCB_CMD_PWRITEV, fd, wv, 2, 8192, 0x2222);
    SHOW("submit writes", io_submit(ctx, 2, cbs));
    struct io_event ev[8];
    long n = io_getevents(ctx, 2, 8, ev, NULL);
    printf("write events: %ld\n", n);
    if (n == 2 && ev[0].data > ev[1].data) {
        struct io_event t = ev[0];
        ev[0] = ev[1];
        ev[1] = t;
    }
    show_events("write", ev, (int)n, cbs);

    struct iovec rv[2] = {{r2a, sizeof r2a}, {r2b, sizeof r2b}};
    prep(&c1, IOCB_CMD_PREAD, fd, r1, sizeof r1, 0, 0x3333);
    prep(&c2, IOCB_CMD_PREADV, fd, rv, 2, 8192, 0x4444);
    SHOW("submit reads", io_submit(ctx, 2, cbs));
    /* libaio's fast path: consume completions from the ring without a system call. */
    int got = 0;
    struct io_event rev[2];
    for (long spin = 0; got < 2 && spin < 2000000000L; spin++) {
        unsigned head = __atomic_load_n(&ring->head, __ATOMIC_ACQUIRE);
        unsigned tail = __atomic_load_n(&ring->tail, __ATOMIC_ACQUIRE);
        if (head == tail) {
            if (spin % 1000 == 999) {
                struct timespec ts = {0, 1000000};
                nanosleep(&ts, NULL);
            }
            continue;
        }
        rev[got++] = ring->io_events[head % ring->nr];
        __atomic_store_n(&ring->head, (head + 1) % ring->nr, __ATOMIC_RELEASE);
    }
    printf("read events from the ring: %d\n", got);
    if (got == 2 && rev[0].data > rev[1].data) {
        struct io_event t = rev[0];
        rev[0] = rev[1];
        rev[1] = t;
    }
    show_events("read", rev, got, cbs);
    printf("read back equal: %d %d %d\n", memcmp(r1, w1, sizeof w1) == 0,
           memcmp(r2a, w2a, sizeof w2a) == 0, memcmp(r2b, w2b, sizeof w2b) == 0);

    /* Timeouts: nothing outstanding. */
    struct timespec ts = {0, 10 * 1000 * 1000};
    SHOW("getevents timeout", io_getevents(ctx, 1, 8, ev, &ts));
    struct {
        const void *mask;
        size_t size;
    } usig = {NULL, 8};
    ts.tv_nsec = 10 * 1000 * 1000;
    SHOW("pgetevents timeout", syscall(SYS_io_pgetevents, ctx, 1, 8, ev, &ts, &usig));
    sigset_t blocked;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGUSR1);
    usig.mask = &blocked;
    ts.tv_nsec = 10 * 1000 * 1000;
    SHOW("pgetevents timeout with mask", syscall(SYS_io_pgetevents, ctx, 1, 8, ev, &ts, &usig));

    /* Errors. */
    prep(&c1, IOCB_CMD_PREAD, 999, r1, 10, 0, 1);
    SHOW("submit bad fd", io_submit(ctx, 1, cbs));
    prep(&c1, 77, fd, r1, 10, 0, 1);
    SHOW("submit bad opcode", io_submit(ctx, 1, cbs));
    SHOW("submit bad ctx", io_submit(12345, 1, cbs));
    prep(&c1, IOCB_CMD_PREAD, fd, r1, 10, 0, 1);
    SHOW("cancel unknown", io_cancel(ctx, &c1, ev));

    /* eventfd notification. */
    int efd = eventfd(0, 0);
    prep(&c1, IOCB_CMD_PREAD, fd, r1, 100, 0, 0x5555);
    c1.aio_flags = IOCB_FLAG_RESFD;
    c1.aio_resfd = efd;
    SHOW("submit with eventfd", io_submit(ctx, 1, cbs));
    uint64_t cnt = 0;
    CHECK(read(efd, &cnt, 8) == 8);
    printf("eventfd count %llu\n", (unsigned long long)cnt);
    n = io_getevents(ctx, 1, 8, ev, NULL);
    show_events("eventfd", ev, (int)n, cbs);

    /* POLL on a pipe. */
    int p[2];
    CHECK(pipe(p) == 0);
    prep(&c1, IOCB_CMD_POLL, p[0], NULL, 0, 0, 0x6666);
    c1.aio_buf = POLLIN;
    SHOW("submit poll", io_submit(ctx, 1, cbs));
    ts.tv_nsec = 10 * 1000 * 1000;
    SHOW("poll not ready", io_getevents(ctx, 1, 8, ev, &ts));
    CHECK(write(p[1], "x", 1) == 1);
    n = io_getevents(ctx, 1, 8, ev, NULL);
    show_events("poll", ev, (int)n, cbs);

    /* fork: the child has no ring and cannot use the context. */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        show_map("child ring mapping", ctx);
        SHOW("child getevents", io_getevents(ctx, 0, 8, ev, &ts));
        fflush(stdout);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);

    SHOW("io_destroy", io_destroy(ctx));
    show_map("after destroy", ctx);
    SHOW("io_destroy again", io_destroy(ctx));
    close(fd);
    return failures;
}

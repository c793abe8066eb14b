/* uffd.c — userfaultfd: API handshake, registering missing-page handling on a guest
 * mapping, a thread faulting on it (its load blocks until the handler thread answers
 * with UFFDIO_COPY), the uffd_msg contents, UFFDIO_ZEROPAGE, and registering a range
 * that is not mapped. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"

#define PG 4096L


static char *area;

static void *reader(void *arg) {
    long off = (long)arg;
    return (void *)(long)area[off]; /* faults: missing page */
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    errno = 0;
    int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
    int e = errno;
    if (fd < 0) {
        printf("userfaultfd: failed errno=%d\n", e);
        return 0;
    }
    printf("userfaultfd: ok cloexec=%d\n", fcntl(fd, F_GETFD) == FD_CLOEXEC);
    struct uffdio_api api = {.api = UFFD_API, .features = 0};
    SHOW("UFFDIO_API", ioctl(fd, UFFDIO_API, &api));
    printf("api: %#llx has-register-ioctl=%d\n", (unsigned long long)api.api,
           (api.ioctls & (1ULL << _UFFDIO_REGISTER)) != 0);

    area = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(area != MAP_FAILED);
    struct uffdio_register reg = {.range = {(uintptr_t)area, 4 * PG},
                                  .mode = UFFDIO_REGISTER_MODE_MISSING};
    SHOW("UFFDIO_REGISTER", ioctl(fd, UFFDIO_REGISTER, &reg));
    printf("register: copy-ioctl=%d zeropage-ioctl=%d\n",
           (reg.ioctls & (1ULL << _UFFDIO_COPY)) != 0,
           (reg.ioctls & (1ULL << _UFFDIO_ZEROPAGE)) != 0);

    static char src[PG] __attribute__((aligned(4096)));
    for (int round = 0; round < 2; round++) {
        pthread_t t;
        long off = round * PG + 123;
        pthread_create(&t, NULL, reader, (void *)off);
        struct pollfd pf = {fd, POLLIN, 0};
        int pr = poll(&pf, 1, 10000);
        struct uffd_msg msg;
        ssize_t n = read(fd, &msg, sizeof msg);
        printf("round %d: poll=%d read=%zd event-pagefault=%d offset=%ld write=%d\n", round,
               pr, n, msg.event == UFFD_EVENT_PAGEFAULT,
               (long)(msg.arg.pagefault.address - (uintptr_t)area),
               (msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WRITE) != 0);
        uint64_t page = msg.arg.pagefault.address & ~(uint64_t)(PG - 1);
        if (round == 0) {
            memset(src, 'Z', sizeof src);
            struct uffdio_copy cp = {.dst = page, .src = (uintptr_t)src, .len = PG};
            SHOW("UFFDIO_COPY", ioctl(fd, UFFDIO_COPY, &cp));
            printf("copied: %lld\n", (long long)cp.copy);
        } else {
            struct uffdio_zeropage zp = {.range = {page, PG}};
            SHOW("UFFDIO_ZEROPAGE", ioctl(fd, UFFDIO_ZEROPAGE, &zp));
        }
        void *ret;
        pthread_join(t, &ret);
        printf("round %d: reader saw %ld\n", round, (long)ret);
    }
    /* Already present: EEXIST. */
    struct uffdio_copy cp = {.dst = (uintptr_t)area, .src = (uintptr_t)src, .len = PG};
    SHOW("UFFDIO_COPY over present page", ioctl(fd, UFFDIO_COPY, &cp));
    struct uffdio_range rg = {(uintptr_t)area, 4 * PG};
    SHOW("UFFDIO_UNREGISTER", ioctl(fd, UFFDIO_UNREGISTER, &rg));

    /* Registering memory that is not mapped. */
    char *hole = mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(hole, PG);
    reg.range.start = (uintptr_t)hole;
    reg.range.len = PG;
    SHOW("UFFDIO_REGISTER unmapped", ioctl(fd, UFFDIO_REGISTER, &reg));
    reg.range.start = (uintptr_t)area + 1;
    SHOW("UFFDIO_REGISTER unaligned", ioctl(fd, UFFDIO_REGISTER, &reg));
    close(fd);
    return failures;
}

/* memx.c — less common memory and namespace calls: mseal (what a sealed mapping
 * refuses), remap_file_pages, pkey_mprotect with the default key, shared mappings'
 * 's' in /proc/self/maps, unshare and setns. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"

#ifndef SYS_mseal
#define SYS_mseal 462
#endif


#define PG 4096L

static void show_perms(const char *what, void *addr) {
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    int found = 0;
    while (f && fgets(line, sizeof line, f)) {
        unsigned long s, e;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &s, &e, perms) == 3 && s == (unsigned long)addr) {
            printf("%s: %s pages=%lu\n", what, perms, (e - s) / PG);
            found = 1;
        }
    }
    if (f)
        fclose(f);
    if (!found)
        printf("%s: no mapping\n", what);
}

static void test_mseal(void) {
    char *p = mmap(NULL, 5 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    CHECK(munmap(p + 4 * PG, PG) == 0);
    p[0] = 1;
    SHOW("mseal flags", syscall(SYS_mseal, p, PG, 1));
    SHOW("mseal unaligned", syscall(SYS_mseal, p + 1, PG, 0));
    SHOW("mseal len 0", syscall(SYS_mseal, p, 0, 0));
    SHOW("mseal over a hole", syscall(SYS_mseal, p + 3 * PG, 2 * PG, 0));
    SHOW("mseal pages 1-2", syscall(SYS_mseal, p + PG, 2 * PG, 0));
    SHOW("munmap sealed", munmap(p + PG, PG));
    SHOW("munmap range with sealed", munmap(p, 4 * PG));
    SHOW("munmap unsealed", munmap(p + 3 * PG, PG));
    SHOW("mprotect sealed", mprotect(p + PG, PG, PROT_READ));
    SHOW("mprotect unsealed", mprotect(p, PG, PROT_READ));
    SHOW("mremap sealed", mremap(p + PG, PG, 2 * PG, MREMAP_MAYMOVE) == MAP_FAILED);
    SHOW("mmap fixed over sealed",
         mmap(p + PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
             MAP_FAILED);
    SHOW("madvise DONTNEED writable sealed", madvise(p + PG, PG, MADV_DONTNEED));
    SHOW("mseal again", syscall(SYS_mseal, p + PG, 2 * PG, 0));
    p[PG] = 5;
    printf("sealed memory still writable: %d\n", p[PG]);
    /* Read-only sealed anonymous memory cannot be discarded. */
    char *q = mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    SHOW("mseal read-only", syscall(SYS_mseal, q, PG, 0));
    SHOW("madvise DONTNEED read-only sealed", madvise(q, PG, MADV_DONTNEED));
    SHOW("madvise WILLNEED read-only sealed", madvise(q, PG, MADV_WILLNEED));
    show_perms("sealed", p + PG);
}

static void test_remap_file_pages(void) {
    char path[] = "/tmp/ferrite-memx-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    unlink(path);
    static char page[PG];
    for (int i = 0; i < 3; i++) {
        memset(page, 'A' + i, sizeof page);
        CHECK(write(fd, page, sizeof page) == PG);
    }
    char *p = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(p != MAP_FAILED);
    show_perms("shared file mapping", p);
    printf("before: %c%c%c\n", p[0], p[PG], p[2 * PG]);
    SHOW("remap_file_pages", remap_file_pages(p, PG, 0, 2, 0));
    printf("after: %c%c%c\n", p[0], p[PG], p[2 * PG]);
    SHOW("remap_file_pages prot", remap_file_pages(p, PG, PROT_READ, 1, 0));
    SHOW("remap_file_pages size 0", remap_file_pages(p, 0, 0, 1, 0));
    char *priv = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 0);
    SHOW("remap_file_pages private", remap_file_pages(priv, PG, 0, 1, 0));
    munmap(p, 3 * PG);
    SHOW("remap_file_pages unmapped", remap_file_pages(p, PG, 0, 1, 0));
    char *anon = mmap(NULL, PG, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    show_perms("shared anonymous mapping", anon);
    close(fd);
}

static void test_pkey(void) {
    char *p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    SHOW("pkey_mprotect key -1", syscall(SYS_pkey_mprotect, p, PG, PROT_READ, -1));
    show_perms("after pkey_mprotect", p);
    SHOW("pkey_mprotect unaligned", syscall(SYS_pkey_mprotect, p + 1, PG, PROT_READ, -1));
    SHOW("pkey_alloc flags", syscall(SYS_pkey_alloc, 1, 0));
    SHOW("pkey_alloc bad rights", syscall(SYS_pkey_alloc, 0, 0x10));
    SHOW("pkey_free 5", syscall(SYS_pkey_free, 5));
    SHOW("pkey_mprotect key 7", syscall(SYS_pkey_mprotect, p, PG, PROT_READ, 7));
}

static void test_namespaces(void) {
    SHOW("unshare(0)", unshare(0));
    SHOW("unshare(CLONE_FILES|CLONE_FS)", unshare(CLONE_FILES | CLONE_FS));
    SHOW("unshare(CLONE_PTRACE)", unshare(CLONE_PTRACE));
    SHOW("setns(-1)", setns(-1, 0));
    int fd = open("/proc/self/ns/uts", O_RDONLY);
    CHECK(fd >= 0);
    SHOW("setns(own uts, CLONE_NEWNET)", setns(fd, CLONE_NEWNET));
    errno = 0;
    int r = setns(fd, CLONE_NEWUTS);
    int e = errno;
    /* Succeeds with CAP_SYS_ADMIN, EPERM without: the same for both runs. */
    printf("setns(own uts): %s\n", r == 0 ? "ok" : e == EPERM ? "EPERM" : strerror(e));
    close(fd);
}

/* "mseal": the mseal part only; no argument: the rest. */
int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1 && strcmp(argv[1], "mseal") == 0) {
        test_mseal();
        return failures;
    }
    test_remap_file_pages();
    test_pkey();
    test_namespaces();
    return failures;
}

/* notify.c — file-system notification and file handles: inotify (init1 flags, watches, the event records read() returns, rename
 * cookies, IN_IGNORED on rm_watch, EAGAIN when empty) and fanotify_init/fanotify_mark
 * (event metadata, the event descriptor's access mode; EPERM without CAP_SYS_ADMIN on
 * both sides), and name_to_handle_at/open_by_handle_at (O_* flags of the open;
 * EPERM without CAP_DAC_READ_SEARCH on both sides). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"


static const char *mask_name(unsigned m) {
    static char buf[128];
    buf[0] = 0;
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {{IN_ACCESS, "ACCESS"},         {IN_MODIFY, "MODIFY"},
                 {IN_ATTRIB, "ATTRIB"},         {IN_CLOSE_WRITE, "CLOSE_WRITE"},
                 {IN_CLOSE_NOWRITE, "CLOSE_NOWRITE"}, {IN_OPEN, "OPEN"},
                 {IN_MOVED_FROM, "MOVED_FROM"}, {IN_MOVED_TO, "MOVED_TO"},
                 {IN_CREATE, "CREATE"},         {IN_DELETE, "DELETE"},
                 {IN_DELETE_SELF, "DELETE_SELF"}, {IN_IGNORED, "IGNORED"},
                 {IN_ISDIR, "ISDIR"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (m & names[i].bit) {
            strcat(buf, buf[0] ? "|" : "");
            strcat(buf, names[i].name);
        }
    return buf;
}

/* Reads and prints every queued inotify event. */
static void drain(int fd, int wd) {
    char buf[4096] __attribute__((aligned(8)));
    uint32_t cookie = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) {
            printf("  read end: %zd errno=%d\n", n, n < 0 ? errno : 0);
            return;
        }
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *e = (struct inotify_event *)p;
            int same_cookie = e->cookie != 0 && e->cookie == cookie;
            if (e->cookie)
                cookie = e->cookie;
            printf("  event wd-ok=%d %s cookie=%s len%%16=%u name=%s\n", e->wd == wd,
                   mask_name(e->mask), e->cookie ? (same_cookie ? "same" : "set") : "0",
                   e->len % 16, e->len ? e->name : "");
            p += sizeof *e + e->len;
        }
    }
}

static void test_inotify(const char *dir) {
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    CHECK(fd >= 0);
    int fl = fcntl(fd, F_GETFL);
    printf("inotify: nonblock=%d rdonly=%d cloexec=%d\n", (fl & O_NONBLOCK) != 0,
           (fl & O_ACCMODE) == O_RDONLY, fcntl(fd, F_GETFD) == FD_CLOEXEC);
    SHOW("inotify_init1 bad flags", inotify_init1(1));
    int wd = inotify_add_watch(fd, dir, IN_ALL_EVENTS);
    CHECK(wd >= 0);
    SHOW("add_watch missing path", inotify_add_watch(fd, "/nonexistent/x", IN_ALL_EVENTS));
    SHOW("add_watch no mask", inotify_add_watch(fd, dir, 0));

    char path[PATH_MAX], path2[PATH_MAX];
    snprintf(path, sizeof path, "%s/file-with-a-longer-name", dir);
    snprintf(path2, sizeof path2, "%s/renamed", dir);
    int f = open(path, O_CREAT | O_WRONLY, 0600);
    CHECK(write(f, "hello", 5) == 5);
    close(f);
    CHECK(rename(path, path2) == 0);
    CHECK(chmod(path2, 0644) == 0);
    f = open(path2, O_RDONLY);
    char c;
    CHECK(read(f, &c, 1) == 1);
    close(f);
    CHECK(unlink(path2) == 0);
    snprintf(path, sizeof path, "%s/sub", dir);
    CHECK(mkdir(path, 0700) == 0);
    CHECK(rmdir(path) == 0);
    printf("inotify events:\n");
    drain(fd, wd);
    SHOW("rm_watch", inotify_rm_watch(fd, wd));
    printf("after rm_watch:\n");
    drain(fd, wd);
    SHOW("rm_watch again", inotify_rm_watch(fd, wd));
    close(fd);
}

static void test_fanotify(const char *dir) {
    errno = 0;
    int fd = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC, O_RDONLY | O_LARGEFILE);
    int e = errno;
    printf("fanotify_init: %s errno=%d\n", fd >= 0 ? "ok" : "failed", fd >= 0 ? 0 : e);
    SHOW("fanotify_init bad flags", fanotify_init(0x80000000u, O_RDONLY));
    if (fd < 0)
        return;
    printf("fanotify: cloexec=%d\n", fcntl(fd, F_GETFD) == FD_CLOEXEC);
    SHOW("fanotify_mark", fanotify_mark(fd, FAN_MARK_ADD, FAN_CLOSE_WRITE | FAN_EVENT_ON_CHILD,
                                        AT_FDCWD, dir));
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/fan", dir);
    int f = open(path, O_CREAT | O_WRONLY, 0600);
    CHECK(write(f, "x", 1) == 1);
    close(f);
    char buf[4096] __attribute__((aligned(8)));
    ssize_t n = read(fd, buf, sizeof buf);
    printf("fanotify read: %d\n", n > 0);
    for (char *p = buf; n > 0 && FAN_EVENT_OK((struct fanotify_event_metadata *)p, n);) {
        struct fanotify_event_metadata *m = (struct fanotify_event_metadata *)p;
        int efl = m->fd >= 0 ? fcntl(m->fd, F_GETFL) : -1;
        printf("  event vers-ok=%d len=%u meta=%u mask=%#llx fd-ok=%d pid-is-me=%d "
               "accmode-rdonly=%d\n",
               m->vers == FANOTIFY_METADATA_VERSION, m->event_len, m->metadata_len,
               (unsigned long long)m->mask, m->fd >= 0, m->pid == getpid(),
               efl >= 0 && (efl & O_ACCMODE) == O_RDONLY);
        if (m->fd >= 0)
            close(m->fd);
        p = (char *)FAN_EVENT_NEXT(m, n);
    }
    unlink(path);
    close(fd);
}

static void test_handles(const char *dir) {
    struct file_handle *h = malloc(sizeof *h + MAX_HANDLE_SZ);
    h->handle_bytes = MAX_HANDLE_SZ;
    int mount_id;
    SHOW("name_to_handle_at", name_to_handle_at(AT_FDCWD, dir, h, &mount_id, 0));
    int mfd = open(dir, O_RDONLY | O_DIRECTORY);
    errno = 0;
    int fd = open_by_handle_at(mfd, h, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    int e = errno;
    if (fd >= 0) {
        int fl = fcntl(fd, F_GETFL);
        struct stat a, b;
        fstat(fd, &a);
        stat(dir, &b);
        printf("open_by_handle_at: ok same-inode=%d directory-flag=%d nofollow-flag=%d\n",
               a.st_ino == b.st_ino, (fl & O_DIRECTORY) != 0, (fl & O_NOFOLLOW) != 0);
        close(fd);
    } else {
        printf("open_by_handle_at: %s\n", e == EPERM ? "EPERM" : strerror(e));
    }
    SHOW("open_by_handle_at bad fd", open_by_handle_at(-5, h, O_RDONLY));
    close(mfd);
    free(h);
}

/* No argument: inotify and file handles; "fanotify": fanotify. */
int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    char dir[] = "/tmp/ferrite-notify-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    if (argc > 1 && strcmp(argv[1], "fanotify") == 0)
        test_fanotify(dir);
    else {
        test_inotify(dir);
        test_handles(dir);
    }
    rmdir(dir);
    return failures;
}

/* fileio.c — file-system system calls in a private temporary directory.
 *
 * Covers open/creat/write/read/lseek/pread/pwrite/readv/writev, stat/fstat/
 * lstat/fstatat (struct stat layout differs between the x86-64 and arm64
 * kernels: the translator must convert), rename, link, symlink/readlink,
 * unlink, mkdir/rmdir, opendir/readdir (getdents64), ftruncate, access,
 * fcntl F_GETFL/F_SETFL (O_* bits differ between arches: only portable bits
 * are printed, by name), dup/dup2/dup3/pipe, chmod/fchmod, utimensat, openat
 * with O_DIRECTORY/O_NOFOLLOW, getcwd/chdir. Prints nothing host-specific
 * (no inode numbers, no absolute temp paths, no times except those set).
 * Exit status: number of failed checks (capped at 100).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static int failures;
#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c)) {                                                            \
            printf("CHECK FAILED line %d: %s (errno=%s)\n", __LINE__, #c,      \
                   errname(errno));                                            \
            failures++;                                                        \
        }                                                                      \
    } while (0)

static const char *errname(int e)
{
    switch (e) {
    case 0: return "0";
    case ENOENT: return "ENOENT";
    case EEXIST: return "EEXIST";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case ENOTEMPTY: return "ENOTEMPTY";
    case EBADF: return "EBADF";
    case EINVAL: return "EINVAL";
    case ELOOP: return "ELOOP";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case ESPIPE: return "ESPIPE";
    case EXDEV: return "EXDEV";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case EFAULT: return "EFAULT";
    case EAGAIN: return "EAGAIN";
    default: return "other";
    }
}

/* prints "name: ok" or "name: -1 ERRNO" for syscall-like returns */
static void show(const char *what, long r)
{
    if (r < 0)
        printf("%s: -1 %s\n", what, errname(errno));
    else
        printf("%s: %ld\n", what, r);
}

static const char *ftype(mode_t m)
{
    if (S_ISREG(m)) return "reg";
    if (S_ISDIR(m)) return "dir";
    if (S_ISLNK(m)) return "lnk";
    if (S_ISFIFO(m)) return "fifo";
    if (S_ISCHR(m)) return "chr";
    if (S_ISBLK(m)) return "blk";
    if (S_ISSOCK(m)) return "sock";
    return "?";
}

static void show_stat(const char *label, const struct stat *st)
{
    /* directory sizes depend on the host file system: only print file sizes */
    printf("%s: type=%s perm=%04o nlink=%lu size=%lld blocks_nonneg=%d blksize_pos=%d\n",
           label, ftype(st->st_mode), (unsigned)(st->st_mode & 07777),
           (unsigned long)st->st_nlink, S_ISDIR(st->st_mode) ? -1LL : (long long)st->st_size,
           st->st_blocks >= 0, st->st_blksize > 0);
}

static void show_flags(const char *label, int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0) {
        printf("%s: F_GETFL failed %s\n", label, errname(errno));
        failures++;
        return;
    }
    const char *acc = (fl & O_ACCMODE) == O_RDONLY ? "O_RDONLY"
                      : (fl & O_ACCMODE) == O_WRONLY ? "O_WRONLY"
                      : (fl & O_ACCMODE) == O_RDWR   ? "O_RDWR"
                                                     : "O_ACC?";
    printf("%s: %s%s%s%s\n", label, acc, fl & O_APPEND ? "|O_APPEND" : "",
           fl & O_NONBLOCK ? "|O_NONBLOCK" : "", fl & O_DIRECTORY ? "|O_DIRECTORY" : "");
    int fdfl = fcntl(fd, F_GETFD);
    printf("%s: FD_CLOEXEC=%d\n", label, fdfl >= 0 && (fdfl & FD_CLOEXEC));
}

static int cmpstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_dir(const char *path)
{
    DIR *d = opendir(path);
    CHECK(d != NULL);
    if (!d)
        return;
    char *names[64];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 64) {
        char t = e->d_type == DT_REG ? 'f' : e->d_type == DT_DIR ? 'd' : e->d_type == DT_LNK ? 'l' : e->d_type == DT_UNKNOWN ? 'u' : '?';
        char *s = malloc(strlen(e->d_name) + 3);
        sprintf(s, "%s:%c", e->d_name, t);
        names[n++] = s;
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], cmpstr);
    printf("listing %s (%d):", path, n);
    for (int i = 0; i < n; i++) {
        printf(" %s", names[i]);
        free(names[i]);
    }
    printf("\n");
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/ferrite-fileio-XXXXXX", tmp);
    if (!mkdtemp(dir)) {
        printf("mkdtemp failed: %s\n", errname(errno));
        return 100;
    }
    umask(022);
    char origcwd[4096];
    CHECK(getcwd(origcwd, sizeof origcwd) != NULL);
    CHECK(chdir(dir) == 0);
    char cwd[4096];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    /* compare without printing: temp paths differ between runs */
    char rdir[4096];
    CHECK(realpath(dir, rdir) != NULL);
    printf("getcwd matches temp dir: %d\n", strcmp(cwd, rdir) == 0);

    /* --- creat / write / read / lseek ---------------------------------- */
    int fd = creat("a.txt", 0640);
    CHECK(fd >= 0);
    const char msg[] = "Hello, file!\n";
    show("write", write(fd, msg, sizeof msg - 1));
    show_flags("creat flags", fd);
    show("read on O_WRONLY", read(fd, (char[4]){0}, 4));
    CHECK(close(fd) == 0);
    show("close again", close(fd));

    fd = open("a.txt", O_RDWR);
    CHECK(fd >= 0);
    char buf[256];
    memset(buf, 0, sizeof buf);
    show("read", read(fd, buf, sizeof buf));
    printf("content: [%.*s]\n", (int)strcspn(buf, "\n"), buf);
    show("read at eof", read(fd, buf, sizeof buf));
    show("lseek SEEK_SET 7", lseek(fd, 7, SEEK_SET));
    memset(buf, 0, sizeof buf);
    show("read 4", read(fd, buf, 4));
    printf("got: [%s]\n", buf);
    show("lseek SEEK_CUR -2", lseek(fd, -2, SEEK_CUR));
    show("lseek SEEK_END 0", lseek(fd, 0, SEEK_END));
    show("lseek SEEK_END 100", lseek(fd, 100, SEEK_END)); /* hole */
    show("write past end", write(fd, "X", 1));
    show("lseek negative", lseek(fd, -1000, SEEK_SET));
    show("lseek bad whence", lseek(fd, 0, 42));

    /* pread / pwrite do not move the offset */
    off_t before = lseek(fd, 0, SEEK_CUR);
    show("pwrite at 0", pwrite(fd, "J", 1, 0));
    memset(buf, 0, sizeof buf);
    show("pread 5 at 0", pread(fd, buf, 5, 0));
    printf("pread got: [%s]\n", buf);
    printf("offset unchanged: %d\n", lseek(fd, 0, SEEK_CUR) == before);
    show("pread past end", pread(fd, buf, 10, 100000));

    /* hole reads as zeros */
    memset(buf, 0x55, sizeof buf);
    show("pread hole", pread(fd, buf, 8, 20));
    printf("hole zeros: %d\n", buf[0] == 0 && buf[7] == 0);

    /* writev / readv */
    int fd2 = open("v.bin", O_CREAT | O_RDWR | O_TRUNC, 0600);
    CHECK(fd2 >= 0);
    struct iovec iov[4] = {
        {"alpha ", 6}, {"", 0}, {"beta ", 5}, {"gamma\n", 6}};
    show("writev", writev(fd2, iov, 4));
    CHECK(lseek(fd2, 0, SEEK_SET) == 0);
    char p1[3] = {0}, p2[8] = {0}, p3[16] = {0};
    struct iovec riov[3] = {{p1, 2}, {p2, 7}, {p3, 15}};
    show("readv", readv(fd2, riov, 3));
    printf("readv parts: [%s] [%s] [%.*s]\n", p1, p2, (int)strcspn(p3, "\n"), p3);
    struct iovec piov[2] = {{"PW", 2}, {"v", 1}};
    show("pwritev", pwritev(fd2, piov, 2, 1));
    memset(p2, 0, sizeof p2);
    struct iovec priov[1] = {{p2, 6}};
    show("preadv", preadv(fd2, priov, 1, 0));
    printf("preadv: [%s]\n", p2);

    /* --- fstat / stat / lstat ------------------------------------------ */
    struct stat st, st2;
    CHECK(fstat(fd, &st) == 0);
    show_stat("fstat a.txt", &st);
    CHECK(stat("a.txt", &st2) == 0);
    printf("stat==fstat (dev,ino,size): %d\n",
           st.st_dev == st2.st_dev && st.st_ino == st2.st_ino && st.st_size == st2.st_size);
    CHECK(fstatat(AT_FDCWD, "v.bin", &st, 0) == 0);
    show_stat("fstatat v.bin", &st);
    CHECK(stat(".", &st) == 0);
    show_stat("stat .", &st);
    show("stat missing", stat("nope", &st));
    show("stat empty path", stat("", &st));
    show("stat through file", stat("a.txt/x", &st));

    /* --- ftruncate ----------------------------------------------------- */
    show("ftruncate 5", ftruncate(fd, 5));
    CHECK(fstat(fd, &st) == 0);
    printf("size after ftruncate: %lld\n", (long long)st.st_size);
    show("ftruncate 10000", ftruncate(fd, 10000));
    CHECK(fstat(fd, &st) == 0);
    printf("size after grow: %lld\n", (long long)st.st_size);
    show("truncate path 3", truncate("a.txt", 3));
    CHECK(fstat(fd, &st) == 0);
    printf("size after truncate: %lld\n", (long long)st.st_size);
    show("ftruncate negative", ftruncate(fd, -1));

    /* --- O_APPEND, fcntl flags ----------------------------------------- */
    int fa = open("a.txt", O_WRONLY | O_APPEND);
    CHECK(fa >= 0);
    show_flags("O_APPEND flags", fa);
    CHECK(lseek(fa, 0, SEEK_SET) == 0);
    show("append write", write(fa, "+tail", 5));
    CHECK(fstat(fa, &st) == 0);
    printf("size after append: %lld\n", (long long)st.st_size);
    show("F_SETFL O_NONBLOCK", fcntl(fa, F_SETFL, O_NONBLOCK | O_APPEND));
    show_flags("after F_SETFL", fa);
    show("F_SETFD cloexec", fcntl(fa, F_SETFD, FD_CLOEXEC));
    show_flags("after F_SETFD", fa);
    int fc = open("a.txt", O_RDONLY | O_CLOEXEC);
    show_flags("O_CLOEXEC open", fc);
    close(fc);
    close(fa);
    show_flags("O_RDWR fd", fd);

    /* --- access / chmod / fchmod --------------------------------------- */
    show("access F_OK", access("a.txt", F_OK));
    show("access missing", access("missing", F_OK));
    show("chmod 0604", chmod("a.txt", 0604));
    CHECK(stat("a.txt", &st) == 0);
    printf("mode after chmod: %04o\n", (unsigned)(st.st_mode & 07777));
    show("fchmod 0750", fchmod(fd2, 0750));
    CHECK(fstat(fd2, &st) == 0);
    printf("mode after fchmod: %04o\n", (unsigned)(st.st_mode & 07777));
    show("fchmodat", fchmodat(AT_FDCWD, "v.bin", 0644, 0));
    show("access X_OK on 0644", access("v.bin", X_OK));
    show("access R_OK|W_OK", access("v.bin", R_OK | W_OK));

    /* --- utimensat / futimens ------------------------------------------ */
    struct timespec ts[2] = {{1000000000, 123456789}, {1234567890, 987654321}};
    show("utimensat", utimensat(AT_FDCWD, "a.txt", ts, 0));
    CHECK(stat("a.txt", &st) == 0);
    printf("atime=%lld.%09ld mtime=%lld.%09ld\n", (long long)st.st_atim.tv_sec,
           st.st_atim.tv_nsec, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    struct timespec ts2[2] = {{0, UTIME_OMIT}, {42, 0}};
    show("futimens", futimens(fd, ts2));
    CHECK(fstat(fd, &st) == 0);
    printf("after futimens: atime=%lld mtime=%lld\n", (long long)st.st_atim.tv_sec,
           (long long)st.st_mtim.tv_sec);

    /* --- link / symlink / readlink / rename / unlink ------------------- */
    show("link", link("a.txt", "hard.txt"));
    CHECK(stat("a.txt", &st) == 0);
    printf("nlink after link: %lu\n", (unsigned long)st.st_nlink);
    show("link exists", link("a.txt", "hard.txt"));
    show("symlink", symlink("a.txt", "sym"));
    show("symlink dangling", symlink("does/not/exist", "dangling"));
    char lbuf[64];
    memset(lbuf, 0, sizeof lbuf);
    ssize_t ln = readlink("sym", lbuf, sizeof lbuf);
    printf("readlink: %zd [%s]\n", ln, lbuf);
    memset(lbuf, 0, sizeof lbuf);
    ln = readlink("sym", lbuf, 3);
    printf("readlink truncated: %zd [%s]\n", ln, lbuf);
    show("readlink on file", readlink("a.txt", lbuf, sizeof lbuf));
    CHECK(lstat("sym", &st) == 0);
    show_stat("lstat sym", &st);
    CHECK(stat("sym", &st) == 0);
    show_stat("stat sym", &st);
    show("stat dangling", stat("dangling", &st));
    show("lstat dangling", lstat("dangling", &st) == 0 ? (long)st.st_size : -1);
    show("open O_NOFOLLOW symlink", open("sym", O_RDONLY | O_NOFOLLOW));
    show("open O_DIRECTORY file", open("a.txt", O_RDONLY | O_DIRECTORY));
    show("rename", rename("hard.txt", "moved.txt"));
    show("rename missing", rename("hard.txt", "x"));
    show("renameat", renameat(AT_FDCWD, "moved.txt", AT_FDCWD, "moved2.txt"));
    show("open O_EXCL existing", open("a.txt", O_CREAT | O_EXCL | O_WRONLY, 0600));

    /* --- mkdir / rmdir / openat / O_DIRECTORY / readdir ---------------- */
    show("mkdir sub", mkdir("sub", 0755));
    show("mkdir sub again", mkdir("sub", 0755));
    show("mkdir nested missing", mkdir("x/y", 0755));
    int dfd = open("sub", O_RDONLY | O_DIRECTORY);
    CHECK(dfd >= 0);
    show_flags("O_DIRECTORY fd", dfd);
    int ff = openat(dfd, "inner.txt", O_CREAT | O_WRONLY, 0600);
    show("openat inner", ff >= 0 ? 0 : -1);
    show("write inner", write(ff, "12345", 5));
    close(ff);
    show("mkdirat", mkdirat(dfd, "deeper", 0700));
    CHECK(fstatat(dfd, "inner.txt", &st, 0) == 0);
    show_stat("fstatat inner", &st);
    CHECK(fstatat(dfd, "deeper", &st, AT_SYMLINK_NOFOLLOW) == 0);
    show_stat("fstatat deeper", &st);
    show("rmdir non-empty", rmdir("sub"));
    show("unlink dir", unlink("sub"));
    show("read dir fd", read(dfd, buf, 10));
    list_dir(".");
    list_dir("sub");
    for (int i = 0; i < 40; i++) { /* enough entries for several getdents calls */
        char name[64];
        snprintf(name, sizeof name, "sub/file-with-a-longish-name-%02d", i);
        int t = open(name, O_CREAT | O_WRONLY, 0644);
        CHECK(t >= 0);
        close(t);
    }
    DIR *d = opendir("sub");
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        count++;
    closedir(d);
    printf("sub entry count: %d\n", count);
    for (int i = 0; i < 40; i++) {
        char name[64];
        snprintf(name, sizeof name, "sub/file-with-a-longish-name-%02d", i);
        CHECK(unlink(name) == 0);
    }
    show("unlinkat file", unlinkat(dfd, "inner.txt", 0));
    show("unlinkat dir", unlinkat(dfd, "deeper", AT_REMOVEDIR));
    close(dfd);
    show("rmdir sub", rmdir("sub"));

    /* --- dup / dup2 / dup3 / pipe -------------------------------------- */
    int p[2];
    CHECK(pipe(p) == 0);
    const char pm[] = "through the pipe";
    show("write pipe", write(p[1], pm, sizeof pm));
    int dupped = dup(p[0]);
    CHECK(dupped >= 0);
    memset(buf, 0, sizeof buf);
    show("read dup'd pipe", read(dupped, buf, sizeof buf));
    printf("pipe message: [%s]\n", buf);
    show("lseek on pipe", lseek(p[0], 0, SEEK_SET));
    CHECK(fstat(p[0], &st) == 0);
    printf("pipe type: %s\n", ftype(st.st_mode));
    int target = 50;
    show("dup2 to 50", dup2(p[1], target));
    show("write via 50", write(target, "x", 1));
    show("read 1", read(p[0], buf, 1));
    show("dup3 cloexec", dup3(p[1], 51, O_CLOEXEC) == 51 ? 51 : -1);
    show_flags("dup3 fd", 51);
    show("dup3 same fd", dup3(51, 51, 0));
    show("dup2 same fd", dup2(51, 51));
    show("dup2 bad fd", dup2(12345, 52));
    int p2f[2];
    CHECK(pipe2(p2f, O_NONBLOCK | O_CLOEXEC) == 0);
    show_flags("pipe2 read end", p2f[0]);
    show("read empty nonblocking pipe", read(p2f[0], buf, 1));
    printf("errno is EAGAIN: %d\n", errno == EAGAIN);
    close(p2f[0]);
    close(p2f[1]);
    close(p[1]);
    close(target);
    close(51);
    show("read after writers closed (EOF)", read(p[0], buf, 10));
    close(p[0]);
    close(dupped);
    show("write to closed fd", write(p[1], "x", 1));

    /* --- cleanup ------------------------------------------------------- */
    close(fd);
    close(fd2);
    const char *files[] = {"a.txt", "v.bin", "moved2.txt", "sym", "dangling"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        CHECK(unlink(files[i]) == 0);
    list_dir(".");
    CHECK(chdir(origcwd) == 0);
    show("rmdir tempdir", rmdir(dir));
    printf("fileio: %s (%d failures)\n", failures ? "FAIL" : "ok", failures);
    return failures > 100 ? 100 : failures;
}

/* procmisc: process details a real kernel gets right and an emulator easily does not.
 *
 * - prctl(PR_CAPBSET_DROP / PR_SET_SECUREBITS): allowed with CAP_SETPCAP, EPERM without
 *   it (never EINVAL);
 * - /proc/self/task/TID/stat and /proc/thread-self/stat describe that thread (its tid,
 *   its state), not the main thread; the process's name is its program's basename;
 * - SIGPIPE: kill(child, SIGPIPE) kills a child in pause(), a write to a broken pipe
 *   kills the writer, and a SIGPIPE ignored by the parent stays ignored across execve;
 * - execveat: the kernel's errnos for a bad descriptor, a non-directory descriptor, an
 *   empty path without AT_EMPTY_PATH and unknown flags; fexecve-style and
 *   directory-relative executions work, also from close-on-exec descriptors;
 * - a program started with stdin closed sees it closed (EBADF; its first open gets 0);
 * - epoll_wait returns every ready event up to maxevents in one call (1,500 here);
 * - the PROCMAP_QUERY ioctl of /proc/self/maps (where the kernel has it): the mapping
 *   covering an address or the next one with given permissions, its name, inode, device
 *   and build ID, and the kernel's errnos;
 * - arm64 only: EL0 reads of the ID registers the kernel does not emulate (the AArch32
 *   ID_PFR0/ID_MMFR0-3 group, CRm = 1) raise SIGILL; the emulated AArch32 ID registers of
 *   a CPU without AArch32 EL0 read as zero (the x86-64 build prints the same lines).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif

static const char *errname(int e)
{
    switch (e) {
    case 0: return "0";
    case EPERM: return "EPERM";
    case EINVAL: return "EINVAL";
    case EBADF: return "EBADF";
    case ENOTDIR: return "ENOTDIR";
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case ENOTTY: return "ENOTTY";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    default: return "other";
    }
}

/* ---- prctl capability options -------------------------------------------------------- */

static void caps(void)
{
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
        int root = geteuid() == 0;
        if (root) {
            /* CAP_SYS_BOOT (22) out of this child's bounding set: allowed for root. */
            int r = prctl(PR_CAPBSET_DROP, 22, 0, 0, 0);
            printf("capbset drop as root: %d\n", r);
            printf("capbset read after drop: %d\n", prctl(PR_CAPBSET_READ, 22, 0, 0, 0));
            if (setresuid(65534, 65534, 65534) != 0) {
                printf("setresuid failed\n");
                _exit(1);
            }
        } else {
            printf("capbset drop as root: 0\ncapbset read after drop: 0\n");
        }
        errno = 0;
        int r = prctl(PR_CAPBSET_DROP, 21, 0, 0, 0);
        printf("capbset drop unprivileged: %d %s\n", r, errname(errno));
        errno = 0;
        r = prctl(PR_SET_SECUREBITS, 0x2f, 0, 0, 0);
        printf("set securebits unprivileged: %d %s\n", r, errname(errno));
        printf("get securebits: %d\n", prctl(PR_GET_SECUREBITS, 0, 0, 0, 0));
        fflush(stdout);
        _exit(0);
    }
    int st;
    waitpid(p, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* ---- /proc stat files of threads ---------------------------------------------------- */

static int pipefd[2];
static volatile pid_t thread_tid;
static char thread_self_line[512];

static int read_file(const char *path, char *buf, size_t n)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t r = read(fd, buf, n - 1);
    close(fd);
    if (r < 0)
        return -1;
    buf[r] = 0;
    return (int)r;
}

static void *sleeper(void *arg)
{
    (void)arg;
    thread_tid = (pid_t)syscall(SYS_gettid);
    read_file("/proc/thread-self/stat", thread_self_line, sizeof thread_self_line);
    char c;
    /* Blocks (state S) until main writes. */
    if (read(pipefd[0], &c, 1) != 1)
        return (void *)1;
    return NULL;
}

/* "pid (comm) S ...": pid, comm and state of a stat line. */
static int parse_stat(const char *line, long *pid, char *comm, size_t n, char *state)
{
    const char *open_p = strchr(line, '(');
    const char *close_p = strrchr(line, ')');
    if (!open_p || !close_p || close_p < open_p)
        return -1;
    *pid = strtol(line, NULL, 10);
    size_t len = (size_t)(close_p - open_p - 1);
    if (len >= n)
        len = n - 1;
    memcpy(comm, open_p + 1, len);
    comm[len] = 0;
    *state = close_p[2];
    return 0;
}

static void thread_stat(const char *argv0)
{
    CHECK(pipe(pipefd) == 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, sleeper, NULL) == 0);
    while (thread_tid == 0)
        usleep(1000);
    char path[128], line[512], comm[64], expect_comm[16];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)thread_tid);
    long pid = 0;
    char state = '?';
    int sleeping = 0;
    for (int i = 0; i < 2000 && !sleeping; i++) {
        if (read_file(path, line, sizeof line) > 0 &&
            parse_stat(line, &pid, comm, sizeof comm, &state) == 0 && state == 'S')
            sleeping = 1;
        else
            usleep(1000);
    }
    printf("task stat: pid field is the thread's tid: %d\n", pid == thread_tid);
    printf("task stat: thread seen sleeping: %d\n", sleeping);
    /* The process is named after its program (basename, 15 bytes at most). */
    char a0[256];
    snprintf(a0, sizeof a0, "%s", argv0);
    snprintf(expect_comm, sizeof expect_comm, "%s", basename(a0));
    printf("task stat: comm is the program's name: %d\n", strcmp(comm, expect_comm) == 0);

    long tpid = 0;
    char tcomm[64], tstate = '?';
    CHECK(parse_stat(thread_self_line, &tpid, tcomm, sizeof tcomm, &tstate) == 0);
    printf("thread-self stat: pid field is the thread's tid: %d, state running: %d\n",
           tpid == thread_tid, tstate == 'R');

    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)getpid());
    long mpid = 0;
    char mcomm[64], mstate = '?';
    CHECK(read_file(path, line, sizeof line) > 0);
    CHECK(parse_stat(line, &mpid, mcomm, sizeof mcomm, &mstate) == 0);
    printf("main task stat: pid field is the pid: %d, state running: %d\n", mpid == getpid(),
           mstate == 'R');

    CHECK(read_file("/proc/self/comm", line, sizeof line) > 0);
    line[strcspn(line, "\n")] = 0;
    printf("/proc/self/comm is the program's name: %d\n", strcmp(line, expect_comm) == 0);

    CHECK(write(pipefd[1], "x", 1) == 1);
    void *ret;
    pthread_join(t, &ret);
    CHECK(ret == NULL);
    close(pipefd[0]);
    close(pipefd[1]);
}

/* ---- SIGPIPE ------------------------------------------------------------------------- */

static const char *how(int st)
{
    static char buf[64];
    if (WIFEXITED(st))
        snprintf(buf, sizeof buf, "exited %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, sizeof buf, "killed by %s", WTERMSIG(st) == SIGPIPE ? "SIGPIPE"
                                                  : WTERMSIG(st) == SIGKILL ? "SIGKILL"
                                                                            : "another signal");
    else
        snprintf(buf, sizeof buf, "?");
    return buf;
}

static void sigpipe(const char *self)
{
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
        pause();
        _exit(3);
    }
    usleep(50000);
    kill(p, SIGPIPE);
    int st;
    waitpid(p, &st, 0);
    printf("kill(SIGPIPE) of a child in pause(): %s\n", how(st));

    int fds[2];
    CHECK(pipe(fds) == 0);
    fflush(stdout);
    p = fork();
    if (p == 0) {
        close(fds[0]);
        usleep(50000);
        (void)!write(fds[1], "x", 1);
        _exit(3);
    }
    close(fds[0]);
    close(fds[1]);
    waitpid(p, &st, 0);
    printf("write to a broken pipe: %s\n", how(st));

    /* The disposition crosses execve: ignored stays ignored, default stays default. */
    for (int ign = 0; ign < 2; ign++) {
        fflush(stdout);
        p = fork();
        if (p == 0) {
            signal(SIGPIPE, ign ? SIG_IGN : SIG_DFL);
            execl(self, self, "sigpipe-disposition", (char *)NULL);
            _exit(127);
        }
        waitpid(p, &st, 0);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
}

static int print_sigpipe_disposition(void)
{
    struct sigaction sa;
    sigaction(SIGPIPE, NULL, &sa);
    printf("  after execve SIGPIPE is %s\n", sa.sa_handler == SIG_IGN ? "ignored" : "default");
    return 0;
}

/* ---- execveat ------------------------------------------------------------------------ */

static int execveat_(int dirfd, const char *path, char *const argv[], int flags)
{
    extern char **environ;
    return (int)syscall(SYS_execveat, dirfd, path, argv, environ, flags);
}

static void run_execveat(const char *label, int dirfd, const char *path, int flags)
{
    char *argv[] = {"procmisc", "exec-child", (char *)label, NULL};
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
        execveat_(dirfd, path, argv, flags);
        printf("%s: failed %s\n", label, errname(errno));
        fflush(stdout);
        _exit(100);
    }
    int st;
    waitpid(p, &st, 0);
    printf("%s: %s\n", label, how(st));
}

static void execveat_cases(const char *self_path)
{
    char *argv[] = {"procmisc", "exec-child", "x", NULL};
    int file_fd = open(self_path, O_RDONLY);
    CHECK(file_fd >= 0);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", self_path);
    int dir_fd = open(dirname(dir), O_RDONLY | O_DIRECTORY);
    CHECK(dir_fd >= 0);
    char base_buf[4096];
    snprintf(base_buf, sizeof base_buf, "%s", self_path);
    const char *base = basename(base_buf);

    errno = 0;
    int r = execveat_(1000, base, argv, 0);
    printf("execveat bad dirfd: %d %s\n", r, errname(errno));
    errno = 0;
    r = execveat_(file_fd, base, argv, 0);
    printf("execveat relative to a file: %d %s\n", r, errname(errno));
    errno = 0;
    r = execveat_(dir_fd, "", argv, 0);
    printf("execveat empty path without AT_EMPTY_PATH: %d %s\n", r, errname(errno));
    errno = 0;
    r = execveat_(dir_fd, base, argv, 0x4);
    printf("execveat unknown flag: %d %s\n", r, errname(errno));
    errno = 0;
    r = execveat_(1000, "", argv, AT_EMPTY_PATH);
    printf("execveat AT_EMPTY_PATH on a bad descriptor: %d %s\n", r, errname(errno));
    errno = 0;
    r = execveat_(dir_fd, "no-such-program", argv, 0);
    printf("execveat missing file: %d %s\n", r, errname(errno));
    errno = 0;
    r = execveat_(dir_fd, "", argv, AT_EMPTY_PATH);
    printf("execveat of a directory descriptor: %d %s\n", r, errname(errno));

    run_execveat("execveat(fd, \"\", AT_EMPTY_PATH)", file_fd, "", AT_EMPTY_PATH);
    /* fexecve of a close-on-exec descriptor (as Python opens every file). */
    int cloexec_fd = open(self_path, O_RDONLY | O_CLOEXEC);
    CHECK(cloexec_fd >= 0);
    run_execveat("execveat(O_CLOEXEC fd, \"\", AT_EMPTY_PATH)", cloexec_fd, "", AT_EMPTY_PATH);
    close(cloexec_fd);
    int cloexec_dir = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CHECK(cloexec_dir >= 0);
    run_execveat("execveat(O_CLOEXEC dirfd, name)", cloexec_dir, base, 0);
    close(cloexec_dir);
    run_execveat("execveat(dirfd, name)", dir_fd, base, 0);
    run_execveat("execveat(bad dirfd, absolute path)", 1000, self_path, 0);
    close(file_fd);
    close(dir_fd);
}

/* ---- a program started with standard descriptors closed ----------------------------- */

static int closed_std_child(void)
{
    struct stat st;
    int r0 = fstat(0, &st);
    int e0 = errno;
    int fd = open("/dev/null", O_RDONLY);
    printf("  started with stdin closed: fstat(0) %d %s, first open returns %d\n", r0,
           errname(r0 ? e0 : 0), fd);
    return 0;
}

static void closed_std(const char *self)
{
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
        close(0);
        execl(self, self, "closed-stdin", (char *)NULL);
        _exit(127);
    }
    int st;
    waitpid(p, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* ---- epoll: every ready event, up to maxevents, in one call -------------------------- */

static void epoll_many(void)
{
    enum { N = 1500 };
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < N + 64) {
        rl.rlim_cur = rl.rlim_max < N + 64 ? rl.rlim_max : N + 64;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    int ep = epoll_create1(EPOLL_CLOEXEC);
    CHECK(ep >= 0);
    static int fds[N];
    int n = 0;
    for (; n < N; n++) {
        fds[n] = eventfd(1, EFD_CLOEXEC);
        if (fds[n] < 0)
            break;
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (unsigned long long)n};
        CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fds[n], &ev) == 0);
    }
    static struct epoll_event out[N + 100];
    int r = epoll_wait(ep, out, N + 100, 1000);
    printf("epoll_wait with %s ready descriptors returns them all: %d\n",
           n == N ? "1500" : "fewer", r == n);
    for (int i = 0; i < n; i++)
        close(fds[i]);
    close(ep);
}

/* ---- PROCMAP_QUERY on /proc/self/maps (Linux 6.11+) ----------------------------------- */

struct pmq { /* struct procmap_query, include/uapi/linux/fs.h */
    unsigned long long size, query_flags, query_addr, vma_start, vma_end, vma_flags,
        vma_page_size, vma_offset, inode;
    unsigned int dev_major, dev_minor, vma_name_size, build_id_size;
    unsigned long long vma_name_addr, build_id_addr;
};
#define PMQ_IOCTL 0xc0686611u
#define PMQ_R 0x01
#define PMQ_W 0x02
#define PMQ_X 0x04
#define PMQ_NEXT 0x10
#define PMQ_FILE 0x20

static int pmq(int fd, struct pmq *q)
{
    errno = 0;
    return ioctl(fd, PMQ_IOCTL, q);
}

static void pmq_init(struct pmq *q, unsigned long addr, unsigned long long flags)
{
    memset(q, 0, sizeof *q);
    q->size = sizeof *q;
    q->query_addr = addr;
    q->query_flags = flags;
}

static void procmap_query(const char *self)
{
    int fd = open("/proc/self/maps", O_RDONLY);
    CHECK(fd >= 0);
    struct pmq q;
    pmq_init(&q, 0, PMQ_NEXT);
    if (pmq(fd, &q) != 0 && errno == ENOTTY) {
        /* A kernel before 6.11 (the guest sees the host's release). */
        printf("PROCMAP_QUERY: not supported by this kernel\n");
        close(fd);
        return;
    }
    long pg = sysconf(_SC_PAGESIZE);
    char *p = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    CHECK(mprotect(p + pg, pg, PROT_READ) == 0);
    char name[4096];

    pmq_init(&q, (unsigned long)p + pg + 10, 0);
    q.vma_name_addr = (unsigned long)name;
    q.vma_name_size = sizeof name;
    int r = pmq(fd, &q);
    printf("pmq middle page: %d range ok %d flags %#llx page size ok %d offset %llu inode %llu "
           "name size %u\n",
           r, q.vma_start == (unsigned long)p + pg && q.vma_end == (unsigned long)p + 2 * pg,
           q.vma_flags, q.vma_page_size == (unsigned long long)pg, q.vma_offset, q.inode,
           q.vma_name_size);
    pmq_init(&q, (unsigned long)p + pg, PMQ_W);
    r = pmq(fd, &q);
    printf("pmq middle page writable: %d %s\n", r, errname(errno));
    pmq_init(&q, (unsigned long)p + pg, PMQ_W | PMQ_NEXT);
    r = pmq(fd, &q);
    printf("pmq next writable: %d start ok %d flags %#llx\n", r,
           q.vma_start == (unsigned long)p + 2 * pg, q.vma_flags);

    /* The program's own text: file-backed, named, with its inode, device and build ID. */
    struct stat st;
    CHECK(stat(self, &st) == 0);
    unsigned char id[64];
    pmq_init(&q, (unsigned long)&procmap_query, PMQ_FILE | PMQ_X);
    q.vma_name_addr = (unsigned long)name;
    q.vma_name_size = sizeof name;
    q.build_id_addr = (unsigned long)id;
    q.build_id_size = sizeof id;
    r = pmq(fd, &q);
    printf("pmq text: %d flags %#llx name is the program %d inode ok %d dev ok %d offset aligned "
           "%d build id size %u\n",
           r, q.vma_flags, r == 0 && strcmp(name, self) == 0, q.inode == st.st_ino,
           q.dev_major == major(st.st_dev) && q.dev_minor == minor(st.st_dev),
           q.vma_offset % pg == 0, q.build_id_size);
    pmq_init(&q, (unsigned long)&procmap_query, 0);
    q.vma_name_addr = (unsigned long)name;
    q.vma_name_size = 2;
    r = pmq(fd, &q);
    printf("pmq name buffer too small: %d %s\n", r, errname(errno));

    int local = 0;
    pmq_init(&q, (unsigned long)&local, 0);
    q.vma_name_addr = (unsigned long)name;
    q.vma_name_size = sizeof name;
    r = pmq(fd, &q);
    printf("pmq stack: %d name %s flags %#llx\n", r, r == 0 ? name : "-", q.vma_flags);

    CHECK(munmap(p, 3 * pg) == 0);
    pmq_init(&q, (unsigned long)p + pg, 0);
    r = pmq(fd, &q);
    printf("pmq unmapped: %d %s\n", r, errname(errno));
    pmq_init(&q, 0, 0x100);
    r = pmq(fd, &q);
    printf("pmq unknown flag: %d %s\n", r, errname(errno));
    pmq_init(&q, 0, PMQ_NEXT);
    q.size = 8;
    r = pmq(fd, &q);
    printf("pmq size 8: %d %s\n", r, errname(errno));
    pmq_init(&q, 0, PMQ_NEXT);
    q.vma_name_size = 10;
    r = pmq(fd, &q);
    printf("pmq name size without buffer: %d %s\n", r, errname(errno));
    close(fd);
}

/* ---- ID registers (arm64) ------------------------------------------------------------ */

#if defined(__aarch64__)
static sigjmp_buf ill_jmp;
static void on_ill(int sig)
{
    (void)sig;
    siglongjmp(ill_jmp, 1);
}

#define READ_REG(name)                                                                     \
    do {                                                                                   \
        unsigned long v = 0;                                                               \
        if (sigsetjmp(ill_jmp, 1) == 0) {                                                  \
            __asm__ volatile("mrs %0, " name : "=r"(v));                                  \
            printf("mrs %s: %#lx\n", name, v);                                             \
        } else {                                                                           \
            printf("mrs %s: SIGILL\n", name);                                              \
        }                                                                                  \
    } while (0)
#endif

static void id_registers(void)
{
#if defined(__aarch64__)
    signal(SIGILL, on_ill);
    READ_REG("S3_0_C0_C1_0"); /* ID_PFR0_EL1 */
    READ_REG("S3_0_C0_C1_4"); /* ID_MMFR0_EL1 */
    READ_REG("S3_0_C0_C1_7"); /* ID_MMFR3_EL1 */
    READ_REG("S3_0_C0_C2_0"); /* ID_ISAR0_EL1 */
    READ_REG("S3_0_C0_C2_5"); /* ID_ISAR5_EL1 */
    READ_REG("S3_0_C0_C3_0"); /* MVFR0_EL1 */
    READ_REG("S3_0_C0_C3_1"); /* MVFR1_EL1 */
    READ_REG("S3_0_C0_C0_1"); /* CRm = 0, not MIDR/MPIDR/REVIDR */
    READ_REG("S3_0_C0_C5_7"); /* unallocated ID_AA64 slot: reads as zero */
    READ_REG("S3_0_C0_C8_0"); /* outside the ID space the kernel emulates */
    signal(SIGILL, SIG_DFL);
#else
    /* What the arm64 kernel gives an EL0 process on a CPU without AArch32 EL0. */
    printf("mrs S3_0_C0_C1_0: SIGILL\n");
    printf("mrs S3_0_C0_C1_4: SIGILL\n");
    printf("mrs S3_0_C0_C1_7: SIGILL\n");
    printf("mrs S3_0_C0_C2_0: 0\n");
    printf("mrs S3_0_C0_C2_5: 0\n");
    printf("mrs S3_0_C0_C3_0: 0\n");
    printf("mrs S3_0_C0_C3_1: 0\n");
    printf("mrs S3_0_C0_C0_1: SIGILL\n");
    printf("mrs S3_0_C0_C5_7: 0\n");
    printf("mrs S3_0_C0_C8_0: SIGILL\n");
#endif
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "sigpipe-disposition") == 0)
        return print_sigpipe_disposition();
    if (argc > 1 && strcmp(argv[1], "closed-stdin") == 0)
        return closed_std_child();
    if (argc > 2 && strcmp(argv[1], "exec-child") == 0) {
        printf("  exec'd child runs (%s)\n", argv[2]);
        return 7;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    CHECK(n > 0);
    self[n > 0 ? n : 0] = 0;

    caps();
    thread_stat(argv[0]);
    sigpipe(self);
    execveat_cases(self);
    closed_std(self);
    epoll_many();
    procmap_query(self);
    id_registers();
    return failures ? 1 : 0;
}

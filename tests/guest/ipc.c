/* ipc.c — SysV IPC: shared memory (attach/detach, IPC_STAT, /proc/self/maps lines,
 * SHM_RND/SHM_RDONLY/SHM_EXEC/SHM_REMAP, fork sharing, IPC_RMID), semaphores
 * (semctl STAT/SET/GETALL/SETALL/SEM_STAT, semop/semtimedop, SEM_UNDO, fork, EINTR)
 * and message queues (types, MSG_NOERROR, IPC_NOWAIT, fork). Prints facts, never
 * addresses or IDs. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

/* Evaluate `expr` with errno cleared, then print its value and errno. */

union semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
    struct seminfo *__buf;
};

/* The /proc/self/maps line of the mapping starting at `addr`: prints its
 * permissions, offset and name, and whether the inode is `inode`. 0 if absent. */
static int show_map(const char *what, void *addr, long inode) {
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    int found = 0;
    if (!f) {
        printf("%s: cannot open maps\n", what);
        return 0;
    }
    while (fgets(line, sizeof line, f)) {
        unsigned long s, e, off, ino;
        char perms[8], dev[16];
        int n = 0;
        if (sscanf(line, "%lx-%lx %7s %lx %15s %lu %n", &s, &e, perms, &off, dev, &ino, &n) < 6)
            continue;
        if (s != (unsigned long)addr)
            continue;
        char *name = line + n;
        name[strcspn(name, "\n")] = 0;
        printf("%s: %s off=%lx pages=%lu inode-is-id=%d name=%s\n", what, perms, off,
               (e - s) / 4096, inode < 0 || (long)ino == inode, name);
        found = 1;
    }
    fclose(f);
    if (!found)
        printf("%s: no mapping\n", what);
    return found;
}

static void test_shm(void) {
    const size_t size = 3 * 4096 + 100; /* not a page multiple */
    int id = shmget(IPC_PRIVATE, size, IPC_CREAT | 0600);
    CHECK(id >= 0);
    struct shmid_ds ds;
    CHECK(shmctl(id, IPC_STAT, &ds) == 0);
    printf("shm: segsz=%zu nattch=%lu mode=%o key=%d cpid-is-me=%d uid-ok=%d atime=%ld\n",
           (size_t)ds.shm_segsz, (unsigned long)ds.shm_nattch, ds.shm_perm.mode & 0777,
           (int)ds.shm_perm.__key, ds.shm_cpid == getpid(), ds.shm_perm.uid == getuid(),
           (long)ds.shm_atime);

    char *p = shmat(id, NULL, 0);
    CHECK(p != (void *)-1);
    CHECK(((unsigned long)p & 4095) == 0);
    show_map("attached", p, id);
    CHECK(shmctl(id, IPC_STAT, &ds) == 0);
    printf("shm: after attach nattch=%lu lpid-is-me=%d atime-set=%d\n",
           (unsigned long)ds.shm_nattch, ds.shm_lpid == getpid(), ds.shm_atime != 0);
    memset(p, 'a', size);
    p[size - 1] = 'z';

    /* A second attachment of the same segment sees the same bytes. */
    char *q = shmat(id, NULL, SHM_RDONLY);
    CHECK(q != (void *)-1 && q != p);
    show_map("read-only", q, id);
    printf("shm: second view %c%c\n", q[0], q[size - 1]);
    CHECK(shmctl(id, IPC_STAT, &ds) == 0);
    printf("shm: two attachments nattch=%lu\n", (unsigned long)ds.shm_nattch);

    /* fork: the child inherits both attachments and writes through one. */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        struct shmid_ds cds;
        shmctl(id, IPC_STAT, &cds);
        p[1] = 'C';
        _exit(cds.shm_nattch == 4 ? 0 : 1);
    }
    int st;
    waitpid(pid, &st, 0);
    printf("shm: child status %d, sees child's write %c via ro view %c\n", WEXITSTATUS(st),
           p[1], q[1]);
    CHECK(shmctl(id, IPC_STAT, &ds) == 0);
    printf("shm: after child exit nattch=%lu\n", (unsigned long)ds.shm_nattch);

    /* Writing a read-only attachment faults. */
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        *(volatile char *)q = 'x';
        _exit(0);
    }
    waitpid(pid, &st, 0);
    printf("shm: write to SHM_RDONLY: %s %d\n", WIFSIGNALED(st) ? "signal" : "exit",
           WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));

    /* shmdt: only at the start of an attachment; twice is EINVAL. */
    SHOW("shm: shmdt(p+4096)", shmdt(p + 4096));
    SHOW("shm: shmdt(p+1)", shmdt(p + 1));
    CHECK(shmdt(q) == 0);
    SHOW("shm: shmdt twice", shmdt(q));
    show_map("detached", q, -1);
    show_map("still attached", p, id);

    /* Partly unmapped attachment: shmdt of its start still detaches the rest. */
    CHECK(munmap(p, 4096) == 0);
    show_map("first page unmapped", p + 4096, id);
    CHECK(shmdt(p) == 0);
    show_map("rest after shmdt", p + 4096, -1);

    /* A chosen address; SHM_RND rounds down, an unaligned one fails without it. */
    char *area = mmap(NULL, 16 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(area != MAP_FAILED);
    munmap(area, 16 * 4096);
    char *want = area + 4 * 4096;
    SHOW("shm: unaligned without SHM_RND", shmat(id, want + 100, 0) == (void *)-1);
    void *r = shmat(id, want + 100, SHM_RND);
    printf("shm: SHM_RND gives the rounded address: %d\n", r == want);
    printf("shm: contents kept: %c%c%c\n", want[0], want[1], want[size - 1]);
    /* Over an existing mapping: EINVAL, unless SHM_REMAP. */
    char *anon = mmap(area, 4 * 4096, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(anon == area);
    anon[0] = 'm';
    SHOW("shm: over a mapping", shmat(id, area, 0) == (void *)-1);
    r = shmat(id, area, SHM_REMAP | SHM_EXEC);
    printf("shm: SHM_REMAP: %d first=%c\n", r == area, area[0]);
    show_map("remapped exec", area, id);
    CHECK(shmdt(area) == 0);
    CHECK(shmdt(want) == 0);
    errno = 0;
    r = shmat(id, NULL, SHM_RND | SHM_REMAP);
    int remap_null_errno = errno;
    printf("shm: SHM_REMAP with NULL: %d errno=%d\n", r == (void *)-1, remap_null_errno);
    if (r != (void *)-1)
        shmdt(r);

    /* IPC_RMID with an attachment: the key shows as deleted, the memory stays. */
    p = shmat(id, NULL, 0);
    CHECK(p != (void *)-1);
    CHECK(shmctl(id, IPC_RMID, NULL) == 0);
    show_map("after IPC_RMID", p, id);
    printf("shm: still readable %c\n", p[2]);
    CHECK(shmdt(p) == 0);
    SHOW("shm: stat removed", shmctl(id, IPC_STAT, &ds));
    SHOW("shm: attach removed", shmat(id, NULL, 0) == (void *)-1);

    struct shminfo si;
    int max = shmctl(0, IPC_INFO, (struct shmid_ds *)&si);
    printf("shm: IPC_INFO ok=%d shmmni>0=%d shmseg>0=%d\n", max >= 0, si.shmmni > 0,
           si.shmseg > 0);
}

static volatile sig_atomic_t alarms;
static void on_alarm(int s) {
    (void)s;
    alarms++;
}

static void test_sem(void) {
    int id = semget(IPC_PRIVATE, 3, IPC_CREAT | 0600);
    CHECK(id >= 0);
    struct semid_ds ds;
    union semun u = {.buf = &ds};
    memset(&ds, 0x55, sizeof ds);
    CHECK(semctl(id, 0, IPC_STAT, u) == 0);
    printf("sem: nsems=%lu otime=%ld ctime-set=%d mode=%o uid-ok=%d\n",
           (unsigned long)ds.sem_nsems, (long)ds.sem_otime, ds.sem_ctime != 0,
           ds.sem_perm.mode & 0777, ds.sem_perm.uid == getuid());

    unsigned short vals[3] = {1, 2, 3}, got[3] = {0};
    u.array = vals;
    CHECK(semctl(id, 0, SETALL, u) == 0);
    u.array = got;
    CHECK(semctl(id, 0, GETALL, u) == 0);
    printf("sem: GETALL %u %u %u\n", got[0], got[1], got[2]);
    u.val = 7;
    CHECK(semctl(id, 2, SETVAL, u) == 0);
    printf("sem: GETVAL %d\n", semctl(id, 2, GETVAL));

    struct sembuf op = {.sem_num = 1, .sem_op = -2, .sem_flg = 0};
    CHECK(semop(id, &op, 1) == 0);
    u.buf = &ds;
    CHECK(semctl(id, 0, IPC_STAT, u) == 0);
    printf("sem: after semop val=%d pid-is-me=%d otime-set=%d\n", semctl(id, 1, GETVAL),
           semctl(id, 1, GETPID) == getpid(), ds.sem_otime != 0);
    op.sem_flg = IPC_NOWAIT;
    SHOW("sem: NOWAIT on zero", semop(id, &op, 1));
    struct timespec ts = {0, 20 * 1000 * 1000};
    op.sem_flg = 0;
    SHOW("sem: semtimedop timeout", semtimedop(id, &op, 1, &ts));

    /* IPC_SET: new mode. */
    ds.sem_perm.mode = 0640;
    CHECK(semctl(id, 0, IPC_SET, u) == 0);
    memset(&ds, 0, sizeof ds);
    CHECK(semctl(id, 0, IPC_STAT, u) == 0);
    printf("sem: mode after IPC_SET %o nsems=%lu\n", ds.sem_perm.mode & 0777,
           (unsigned long)ds.sem_nsems);

    /* SEM_STAT by index finds our set. */
    struct seminfo si;
    u.__buf = &si;
    int maxidx = semctl(0, 0, SEM_INFO, u);
    int found = 0;
    for (int i = 0; i <= maxidx; i++) {
        struct semid_ds d2;
        u.buf = &d2;
        if (semctl(i, 0, SEM_STAT, u) == id)
            found = d2.sem_nsems == 3 && (d2.sem_perm.mode & 0777) == 0640;
    }
    printf("sem: SEM_STAT finds it: %d semmsl>0=%d\n", found, si.semmsl > 0);

    /* A read-only buffer: EFAULT. */
    void *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    u.buf = ro;
    SHOW("sem: IPC_STAT to read-only memory", semctl(id, 0, IPC_STAT, u));
    munmap(ro, 4096);

    /* fork: the parent blocks until the child posts; SEM_UNDO is undone at exit. */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        struct sembuf post = {.sem_num = 0, .sem_op = 5, .sem_flg = 0};
        struct sembuf undo = {.sem_num = 2, .sem_op = 10, .sem_flg = SEM_UNDO};
        usleep(20000);
        semop(id, &undo, 1);
        semop(id, &post, 1);
        _exit(0);
    }
    struct sembuf wait5 = {.sem_num = 0, .sem_op = -5, .sem_flg = 0};
    int r = semop(id, &wait5, 1);
    int st;
    waitpid(pid, &st, 0);
    printf("sem: waited for child: %d sem2 after child's undo=%d\n", r,
           semctl(id, 2, GETVAL));

    /* A blocked semop interrupted by a handled signal fails with EINTR, even with
     * SA_RESTART (SysV IPC calls are never restarted). */
    struct sigaction sa = {0};
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 0}, {0, 30000}};
    setitimer(ITIMER_REAL, &it, NULL);
    SHOW("sem: interrupted semop", semop(id, &wait5, 1));
    printf("sem: alarms=%d\n", (int)alarms);

    CHECK(semctl(id, 0, IPC_RMID) == 0);
    SHOW("sem: GETVAL after RMID", semctl(id, 0, GETVAL));
}

struct msg {
    long mtype;
    char mtext[64];
};

static void test_msg(void) {
    int id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    CHECK(id >= 0);
    struct msg m = {1, "first"};
    CHECK(msgsnd(id, &m, 6, 0) == 0);
    m.mtype = 2;
    strcpy(m.mtext, "second, longer");
    CHECK(msgsnd(id, &m, 15, 0) == 0);
    struct msqid_ds ds;
    CHECK(msgctl(id, IPC_STAT, &ds) == 0);
    printf("msg: qnum=%lu cbytes=%lu qbytes>0=%d lspid-is-me=%d mode=%o\n",
           (unsigned long)ds.msg_qnum, (unsigned long)ds.__msg_cbytes, ds.msg_qbytes > 0,
           ds.msg_lspid == getpid(), ds.msg_perm.mode & 0777);
    struct msg r;
    memset(&r, 0, sizeof r);
    ssize_t n = msgrcv(id, &r, sizeof r.mtext, 2, 0);
    printf("msg: type 2 first: %zd %ld %s\n", n, r.mtype, r.mtext);
    SHOW("msg: too small", msgrcv(id, &r, 3, 0, 0));
    memset(&r, 0, sizeof r);
    n = msgrcv(id, &r, 3, 0, MSG_NOERROR);
    printf("msg: truncated: %zd %ld %.3s\n", n, r.mtype, r.mtext);
    SHOW("msg: empty", msgrcv(id, &r, sizeof r.mtext, 0, IPC_NOWAIT));

    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        struct msg c = {7, "from child"};
        usleep(20000);
        msgsnd(id, &c, 11, 0);
        _exit(0);
    }
    memset(&r, 0, sizeof r);
    n = msgrcv(id, &r, sizeof r.mtext, -10, 0);
    int st;
    waitpid(pid, &st, 0);
    printf("msg: from child: %zd %ld %s\n", n, r.mtype, r.mtext);
    CHECK(msgctl(id, IPC_STAT, &ds) == 0);
    printf("msg: lrpid-is-me=%d qnum=%lu\n", ds.msg_lrpid == getpid(),
           (unsigned long)ds.msg_qnum);
    ds.msg_perm.mode = 0604;
    CHECK(msgctl(id, IPC_SET, &ds) == 0);
    CHECK(msgctl(id, IPC_STAT, &ds) == 0);
    printf("msg: mode after IPC_SET %o\n", ds.msg_perm.mode & 0777);
    CHECK(msgctl(id, IPC_RMID, NULL) == 0);
    SHOW("msg: send after RMID", msgsnd(id, &m, 1, 0));
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_shm();
    test_sem();
    test_msg();
    /* Neither 64-bit kernel parses the IPC_64 bit: the command is invalid. */
    SHOW("bad cmd IPC_64|IPC_STAT", syscall(SYS_shmctl, 0, IPC_STAT | 0x100, NULL));
    return failures;
}

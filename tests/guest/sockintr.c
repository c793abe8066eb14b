/* sockintr.c — blocking socket calls interrupted by a handler with SA_RESTART: without
 * a socket timeout they are restarted; with SO_RCVTIMEO (receives, accept) or
 * SO_SNDTIMEO (sends) they fail with EINTR, because the kernel never restarts a timed
 * socket wait (signal(7)). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "check.h"

static int peer = -1;
static volatile sig_atomic_t fired;

/* Each alarm: count it; when asked, make the interrupted receive's data arrive. */
static void on_alarm(int s) {
    (void)s;
    fired++;
    if (peer >= 0) {
        (void)!write(peer, "!", 1);
        peer = -1;
    }
}

static void arm(int ms) {
    struct itimerval it = {{0, 0}, {0, ms * 1000}};
    setitimer(ITIMER_REAL, &it, NULL);
}

static void set_timeout(int fd, int opt, int sec) {
    struct timeval tv = {sec, 0};
    CHECK(setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof tv) == 0);
}

#define SHOW_SIGNALS(label, expr)                                              \
    do {                                                                       \
        fired = 0;                                                             \
        errno = 0;                                                             \
        long r_ = (long)(expr);                                                \
        int e_ = errno;                                                        \
        printf("%s: %ld errno=%d signals=%d\n", label, r_, e_, (int)fired);    \
    } while (0)

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);

    int sv[2];
    char buf[64];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);

    /* No timeout: restarted after the handler, which sends the byte it then gets. */
    peer = sv[1];
    arm(50);
    SHOW_SIGNALS("recv, no timeout, SA_RESTART", recv(sv[0], buf, sizeof buf, 0));
    peer = sv[1];
    arm(50);
    SHOW_SIGNALS("read, no timeout, SA_RESTART", read(sv[0], buf, sizeof buf));

    /* SO_RCVTIMEO: EINTR although SA_RESTART. */
    set_timeout(sv[0], SO_RCVTIMEO, 5);
    arm(50);
    SHOW_SIGNALS("recv with SO_RCVTIMEO", recv(sv[0], buf, sizeof buf, 0));
    arm(50);
    SHOW_SIGNALS("read with SO_RCVTIMEO", read(sv[0], buf, sizeof buf));
    struct msghdr mh;
    struct iovec iov = {buf, sizeof buf};
    memset(&mh, 0, sizeof mh);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    arm(50);
    SHOW_SIGNALS("recvmsg with SO_RCVTIMEO", recvmsg(sv[0], &mh, 0));
    /* The timeout itself still works. */
    set_timeout(sv[0], SO_RCVTIMEO, 0);
    struct timeval tv = {0, 100000};
    setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    SHOW_SIGNALS("recv timing out", recv(sv[0], buf, sizeof buf, 0));

    /* SO_SNDTIMEO on a full socket: EINTR. */
    int fl = fcntl(sv[1], F_GETFL);
    fcntl(sv[1], F_SETFL, fl | O_NONBLOCK);
    static char big[65536];
    while (send(sv[1], big, sizeof big, 0) > 0) {
    }
    while (send(sv[1], big, 1, 0) > 0) {
    }
    fcntl(sv[1], F_SETFL, fl);
    set_timeout(sv[1], SO_SNDTIMEO, 5);
    arm(50);
    SHOW_SIGNALS("send with SO_SNDTIMEO", send(sv[1], big, 1, 0));

    /* accept with SO_RCVTIMEO: EINTR. */
    int ls = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    snprintf(sun.sun_path + 1, sizeof sun.sun_path - 1, "ferrite-sockintr-%d", getpid());
    socklen_t sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
                               strlen(sun.sun_path + 1));
    CHECK(bind(ls, (struct sockaddr *)&sun, sl) == 0);
    CHECK(listen(ls, 1) == 0);
    set_timeout(ls, SO_RCVTIMEO, 5);
    arm(50);
    SHOW_SIGNALS("accept with SO_RCVTIMEO", accept(ls, NULL, NULL));
    close(ls);
    return failures;
}

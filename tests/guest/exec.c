/* exec.c — execve of the program itself (through /proc/self/exe), of a
 * #! script, and the error cases.
 *
 * Under an emulator an execve of an arm64 binary must come back through the
 * emulator (ferrite does this itself; qemu-user needs binfmt_misc), while
 * /bin/sh and friends run natively.
 *
 * The children get a fixed environment, plus QEMU_LD_PREFIX when this process
 * has it: qemu-user hands an arm64 execve to the host kernel, whose
 * binfmt_misc entry starts a new qemu without -L, and that qemu finds a
 * dynamic child's libraries only through this variable. Nothing prints it,
 * and neither the native nor the ferrite run sets it.
 * Usage: exec                  (parent mode)
 *        exec child ARGS...    (what the parent execs; prints its args/env)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *errname(int e)
{
    switch (e) {
    case ENOENT: return "ENOENT";
    case ENOEXEC: return "ENOEXEC";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case ENOTDIR: return "ENOTDIR";
    default: return "other";
    }
}

static void describe(const char *what, int status)
{
    if (WIFEXITED(status))
        printf("%s: exited %d\n", what, WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        printf("%s: killed by signal %d\n", what, WTERMSIG(status));
}

static int run(const char *what, const char *path, char *const argv[], char *const envp[])
{
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        execve(path, argv, envp);
        printf("%s: execve failed: %s\n", what, errname(errno));
        fflush(stdout);
        _exit(127);
    }
    int st;
    waitpid(c, &st, 0);
    describe(what, st);
    return st;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "child") == 0) {
        printf("child: argc=%d", argc);
        for (int i = 2; i < argc; i++)
            printf(" [%s]", argv[i]);
        const char *e = getenv("EXEC_TEST_VAR");
        printf(" env=%s\n", e ? e : "(unset)");
        /* an fd without O_CLOEXEC survives exec, one with it does not */
        printf("child: fd 20 open=%d fd 21 open=%d\n", fcntl(20, F_GETFD) >= 0,
               fcntl(21, F_GETFD) >= 0);
        return 42;
    }

    /* fds to check inheritance across exec */
    int a = open("/dev/null", O_RDONLY);
    dup2(a, 20);
    int b = open("/dev/null", O_RDONLY | O_CLOEXEC);
    dup3(b, 21, O_CLOEXEC);

    char *cargv[] = {"exec-child", "child", "one", "two words", "", NULL};
    char prefix[4200] = "";
    const char *ld_prefix = getenv("QEMU_LD_PREFIX");
    if (ld_prefix)
        snprintf(prefix, sizeof prefix, "QEMU_LD_PREFIX=%s", ld_prefix);
    char *cenv[] = {"EXEC_TEST_VAR=hello", "PATH=/usr/bin:/bin", ld_prefix ? prefix : NULL, NULL};
    run("self via /proc/self/exe", "/proc/self/exe", cargv, cenv);

    /* direct exec (no fork) happens last; first the error cases */
    char *nargv[] = {"x", NULL};
    run("missing file", "/nonexistent/prog", nargv, cenv);
    run("directory", "/", nargv, cenv);

    const char *tmp = getenv("TMPDIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/ferrite-exec-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        printf("mkdtemp failed\n");
        return 1;
    }
    char script[4200], junk[4200], noexec[4200];
    snprintf(script, sizeof script, "%s/script.sh", dir);
    snprintf(junk, sizeof junk, "%s/junk", dir);
    snprintf(noexec, sizeof noexec, "%s/noexec", dir);
    FILE *f = fopen(script, "w");
    fprintf(f, "#!/bin/sh\necho \"script: $# args: $1 $2, var=$EXEC_TEST_VAR\"\nexit 11\n");
    fclose(f);
    chmod(script, 0755);
    f = fopen(junk, "w");
    fprintf(f, "\x01\x02\x03 not a program\n");
    fclose(f);
    chmod(junk, 0755);
    f = fopen(noexec, "w");
    fprintf(f, "#!/bin/sh\nexit 0\n");
    fclose(f);
    chmod(noexec, 0644);

    char *sargv[] = {"script.sh", "alpha", "beta", NULL};
    run("#! script", script, sargv, cenv);
    run("junk file", junk, nargv, cenv);
    run("not executable", noexec, nargv, cenv);

    /* execvp searches PATH; a host program */
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        char *eargv[] = {"echo", "execvp found echo", NULL};
        execvp("echo", eargv);
        _exit(127);
    }
    int st;
    waitpid(c, &st, 0);
    describe("execvp echo", st);

    unlink(script);
    unlink(junk);
    unlink(noexec);
    rmdir(dir);

    /* finally replace ourselves: the exit status is the child's (42) */
    printf("parent: exec'ing self now\n");
    fflush(stdout);
    char *fargv[] = {"exec-final", "child", "final", NULL};
    execve("/proc/self/exe", fargv, cenv);
    printf("final execve failed: %s\n", errname(errno));
    return 1;
}

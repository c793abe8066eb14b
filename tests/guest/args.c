/* args.c — argv, environment and exit status plumbing.
 *
 * Usage: args STATUS [ARG...]
 *   prints argc, argv[0]'s basename up to its first '.', every argv[i], and the
 *   environment variables named in $ARGS_SHOW (comma separated), then exits
 *   with STATUS (0..255).
 * The build suffix (.x86, .arm64-static, …) is stripped from argv[0] so the
 * output is identical for every build of this program.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

static void show_bytes(const char *s)
{
    /* print printable ASCII as-is, everything else as \xNN: arguments may hold
     * spaces, quotes, UTF-8 or control characters */
    putchar('[');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p >= 0x20 && *p < 0x7f && *p != '\\')
            putchar(*p);
        else
            printf("\\x%02x", *p);
    }
    putchar(']');
}

int main(int argc, char **argv)
{
    printf("argc=%d\n", argc);
    if (argc < 1 || argv[0] == NULL) {
        printf("argv[0] missing\n");
        return 100;
    }
    if (argv[argc] != NULL) {
        printf("argv[argc] is not NULL\n");
        return 101;
    }
    const char *base = strrchr(argv[0], '/');
    base = base ? base + 1 : argv[0];
    size_t n = strcspn(base, ".");
    printf("argv[0] basename=%.*s\n", (int)n, base);
    for (int i = 1; i < argc; i++) {
        printf("argv[%d]=", i);
        show_bytes(argv[i]);
        printf(" len=%zu\n", strlen(argv[i]));
    }

    /* environment: the runner controls it completely; count entries that look
     * like NAME=VALUE and show the requested ones */
    int nenv = 0, bad = 0;
    for (char **e = environ; *e; e++) {
        nenv++;
        if (!strchr(*e, '='))
            bad++;
    }
    printf("environ entries without '=': %d\n", bad);
    (void)nenv; /* the count itself may differ: ferrite/qemu may add nothing, but don't depend on it */

    const char *show = getenv("ARGS_SHOW");
    if (show) {
        char buf[1024];
        snprintf(buf, sizeof buf, "%s", show);
        for (char *save = NULL, *name = strtok_r(buf, ",", &save); name;
             name = strtok_r(NULL, ",", &save)) {
            const char *v = getenv(name);
            printf("env %s=", name);
            if (v)
                show_bytes(v);
            else
                printf("(unset)");
            putchar('\n');
        }
    }

    int status = 0;
    if (argc > 1) {
        char *end;
        long v = strtol(argv[1], &end, 0);
        if (*end == '\0' && v >= 0 && v <= 255)
            status = (int)v;
    }
    printf("exiting with %d\n", status);
    return status;
}

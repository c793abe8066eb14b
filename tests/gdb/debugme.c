/* tests/gdb/debugme.c: the program tests/gdb.rs debugs with gdb-multiarch.
 * Built with -g -O0 so that lines, locals and frames are what the source says.
 * Modes (argv[1]): "calls" (default) prints a sum; "segv" writes through a null
 * pointer; "threads" runs workers that wait until main has seen them all; "spin"
 * loops until a debugger changes `spins_left`. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int square(int v)
{
    int result = v * v; /* line: square body */
    return result;
}

static int sum_of_squares(int n)
{
    int total = 0;
    for (int i = 1; i <= n; i++)
        total += square(i);
    return total;
}

static int compare(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y); /* line: compare body */
}

static void crash(int *where)
{
    *where = 42; /* line: the fault */
}

static volatile long spins_left = -1;

static void spin(void)
{
    /* Tells the test that the debugger let the guest run; a minute without a
     * debugger stopping the loop ends it. */
    puts("spinning");
    fflush(stdout);
    time_t give_up = time(NULL) + 60;
    while (spins_left != 0) { /* line: spin loop */
        if (spins_left > 0)
            spins_left--;
        else if (time(NULL) > give_up)
            exit(3);
    }
}

static volatile int started;
static volatile int release;

static void *worker(void *arg)
{
    __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
    while (!__atomic_load_n(&release, __ATOMIC_SEQ_CST))
        ;
    return arg;
}

static void all_started(void)
{
    __atomic_store_n(&release, 1, __ATOMIC_SEQ_CST); /* line: all started */
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "calls";
    if (strcmp(mode, "segv") == 0) {
        crash(NULL);
        return 0;
    }
    if (strcmp(mode, "spin") == 0) {
        spin();
        puts("spun");
        return 0;
    }
    if (strcmp(mode, "threads") == 0) {
        pthread_t t[3];
        for (int k = 0; k < 3; k++)
            pthread_create(&t[k], NULL, worker, NULL);
        while (__atomic_load_n(&started, __ATOMIC_SEQ_CST) < 3)
            ;
        all_started();
        for (int k = 0; k < 3; k++)
            pthread_join(t[k], NULL);
        puts("threads done");
        return 0;
    }
    int values[4] = {3, 1, 4, 2};
    int n = 4;
    int s = sum_of_squares(n); /* line: the sum */
    qsort(values, 4, sizeof values[0], compare);
    printf("sum %d first %d\n", s, values[0]);
    return 0;
}

/* threads.c — pthreads and atomics with deterministic results.
 *
 * Mutex-protected and atomic counters under contention (futex paths),
 * __atomic builtins of 1/2/4/8 bytes (fetch_add/sub/and/or/xor, exchange,
 * compare_exchange: LL/SC or LSE on arm64, outlined or inline), a
 * condition-variable bounded queue, rwlocks, barriers, pthread_once,
 * thread-local storage, thread return values, detached threads, many
 * short-lived threads, and per-thread signal masks. Only totals are printed,
 * never anything that depends on scheduling.
 * Exit status: number of failed checks.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"

#define NTHREADS 4
#define ITERS 20000

static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;
static uint64_t locked_counter;
static uint64_t atomic_counter;
static uint32_t a32;
static uint16_t a16;
static uint8_t a8;
static uint64_t or_bits, xor_acc, and_bits = ~0ULL;
static uint64_t cas_counter;
static int64_t sub_counter;

static void *counter_worker(void *arg)
{
    uintptr_t id = (uintptr_t)arg;
    for (int i = 0; i < ITERS; i++) {
        pthread_mutex_lock(&mtx);
        locked_counter++;
        pthread_mutex_unlock(&mtx);
        __atomic_fetch_add(&atomic_counter, 1, __ATOMIC_RELAXED);
        __atomic_fetch_add(&a32, 3, __ATOMIC_SEQ_CST);
        __atomic_fetch_add(&a16, 1, __ATOMIC_ACQ_REL);
        __atomic_fetch_add(&a8, 1, __ATOMIC_RELEASE);
        __atomic_fetch_sub(&sub_counter, 2, __ATOMIC_SEQ_CST);
        __atomic_fetch_or(&or_bits, 1ULL << ((id * 16 + (unsigned)i) % 64), __ATOMIC_RELAXED);
        __atomic_fetch_xor(&xor_acc, (uint64_t)i * 0x9e3779b97f4a7c15ULL, __ATOMIC_RELAXED);
        if (i == (int)id)
            __atomic_fetch_and(&and_bits, ~(1ULL << id), __ATOMIC_RELAXED);
        /* CAS loop */
        uint64_t old = __atomic_load_n(&cas_counter, __ATOMIC_RELAXED);
        while (!__atomic_compare_exchange_n(&cas_counter, &old, old + 5, 1, __ATOMIC_ACQ_REL,
                                            __ATOMIC_RELAXED))
            ;
    }
    return (void *)(id * 100);
}

static void test_counters(void)
{
    pthread_t t[NTHREADS];
    for (uintptr_t i = 0; i < NTHREADS; i++)
        CHECK(pthread_create(&t[i], NULL, counter_worker, (void *)i) == 0);
    uintptr_t retsum = 0;
    for (int i = 0; i < NTHREADS; i++) {
        void *r;
        CHECK(pthread_join(t[i], &r) == 0);
        retsum += (uintptr_t)r;
    }
    printf("locked=%llu atomic=%llu a32=%u a16=%u a8=%u sub=%lld cas=%llu\n",
           (unsigned long long)locked_counter, (unsigned long long)atomic_counter, a32, a16,
           a8, (long long)sub_counter, (unsigned long long)cas_counter);
    printf("or=%016llx xor=%016llx and=%016llx join-sum=%lu\n", (unsigned long long)or_bits,
           (unsigned long long)xor_acc, (unsigned long long)and_bits, (unsigned long)retsum);
    CHECK(locked_counter == (uint64_t)NTHREADS * ITERS);
    CHECK(atomic_counter == (uint64_t)NTHREADS * ITERS);
    CHECK(cas_counter == (uint64_t)NTHREADS * ITERS * 5);
    CHECK(a32 == NTHREADS * ITERS * 3);
}

/* The classic: 8 threads x 1,000,000 increments of one counter, with an atomic
 * fetch-add (LDADD, or an LDXR/STXR loop in the exclusives-only build) and with a
 * compare-and-swap loop (CAS, or LDAXR/STLXR). Exact totals or a lost update. */
#define BIG_THREADS 8
#define BIG_ITERS 1000000
static uint64_t big_add, big_cas;

static void *big_worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < BIG_ITERS; i++) {
        __atomic_fetch_add(&big_add, 1, __ATOMIC_RELAXED);
        uint64_t old = __atomic_load_n(&big_cas, __ATOMIC_RELAXED);
        while (!__atomic_compare_exchange_n(&big_cas, &old, old + 1, 1, __ATOMIC_ACQ_REL,
                                            __ATOMIC_RELAXED))
            ;
    }
    return NULL;
}

static void test_big_counters(void)
{
    pthread_t t[BIG_THREADS];
    for (int i = 0; i < BIG_THREADS; i++)
        CHECK(pthread_create(&t[i], NULL, big_worker, NULL) == 0);
    for (int i = 0; i < BIG_THREADS; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    printf("8 threads x 1M: fetch_add %llu, cas loop %llu\n", (unsigned long long)big_add,
           (unsigned long long)big_cas);
    CHECK(big_add == (uint64_t)BIG_THREADS * BIG_ITERS);
    CHECK(big_cas == (uint64_t)BIG_THREADS * BIG_ITERS);
}

/* single-threaded semantics of every atomic op and width */
static void test_atomic_ops(void)
{
    uint8_t b = 0xf0;
    uint16_t h = 0xfff0;
    uint32_t w = 0xfffffff0u;
    uint64_t d = 0xfffffffffffffff0ULL;
    uint64_t acc = 0;
    acc = acc * 31 + __atomic_fetch_add(&b, 0x20, __ATOMIC_SEQ_CST); /* wraps */
    acc = acc * 31 + b;
    acc = acc * 31 + __atomic_add_fetch(&h, 0x20, __ATOMIC_SEQ_CST);
    acc = acc * 31 + __atomic_sub_fetch(&w, 0xfffffff1u, __ATOMIC_SEQ_CST);
    acc = acc * 31 + __atomic_fetch_and(&d, 0x0f0f0f0f0f0f0f0fULL, __ATOMIC_SEQ_CST);
    acc = acc * 31 + d;
    acc = acc * 31 + __atomic_exchange_n(&b, 7, __ATOMIC_SEQ_CST);
    acc = acc * 31 + __atomic_exchange_n(&h, 0x1234, __ATOMIC_SEQ_CST);
    acc = acc * 31 + __atomic_exchange_n(&w, 0xdeadbeef, __ATOMIC_SEQ_CST);
    acc = acc * 31 + __atomic_exchange_n(&d, 0x0123456789abcdefULL, __ATOMIC_SEQ_CST);
    uint8_t eb = 7;
    int ok1 = __atomic_compare_exchange_n(&b, &eb, 9, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    uint16_t eh = 1;
    int ok2 = __atomic_compare_exchange_n(&h, &eh, 9, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    uint32_t ew = 0xdeadbeef;
    int ok3 = __atomic_compare_exchange_n(&w, &ew, 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    uint64_t ed = 5;
    int ok4 = __atomic_compare_exchange_n(&d, &ed, 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    printf("atomic ops: acc=%016llx cas=%d%d%d%d b=%u h=%04x(expected-was %04x) w=%u d=%016llx(expected-was %016llx)\n",
           (unsigned long long)acc, ok1, ok2, ok3, ok4, b, h, eh, w, (unsigned long long)d,
           (unsigned long long)ed);
    CHECK(ok1 && !ok2 && ok3 && !ok4);
    int8_t sb = -128;
    int8_t prev = __atomic_fetch_sub(&sb, 1, __ATOMIC_SEQ_CST);
    printf("signed byte wrap: prev=%d now=%d\n", prev, sb);
    /* __sync builtins */
    uint32_t s = 10;
    /* separate statements: argument evaluation order is unspecified */
    uint32_t r1 = __sync_fetch_and_add(&s, 5);
    uint32_t r2 = __sync_val_compare_and_swap(&s, 15, 20);
    int r3 = (int)__sync_bool_compare_and_swap(&s, 99, 1);
    uint32_t r4 = __sync_lock_test_and_set(&s, 42);
    printf("__sync: fetch_and_add=%u val_cas=%u bool_cas=%d lock_test_and_set=%u final=%u\n",
           r1, r2, r3, r4, s);
}

/* bounded queue with condition variables: producers/consumers */
#define QCAP 8
static struct {
    pthread_mutex_t m;
    pthread_cond_t not_empty, not_full;
    int buf[QCAP];
    int head, tail, count;
} q = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, 0, 0, 0};

#define PER_PRODUCER 5000
static void *producer(void *arg)
{
    int base = (int)(intptr_t)arg * PER_PRODUCER;
    for (int i = 0; i < PER_PRODUCER; i++) {
        pthread_mutex_lock(&q.m);
        while (q.count == QCAP)
            pthread_cond_wait(&q.not_full, &q.m);
        q.buf[q.tail] = base + i;
        q.tail = (q.tail + 1) % QCAP;
        q.count++;
        pthread_cond_signal(&q.not_empty);
        pthread_mutex_unlock(&q.m);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    int n = (int)(intptr_t)arg;
    long long sum = 0;
    for (int i = 0; i < n; i++) {
        pthread_mutex_lock(&q.m);
        while (q.count == 0)
            pthread_cond_wait(&q.not_empty, &q.m);
        int v = q.buf[q.head];
        q.head = (q.head + 1) % QCAP;
        q.count--;
        pthread_cond_signal(&q.not_full);
        pthread_mutex_unlock(&q.m);
        sum += v;
    }
    long long *r = malloc(sizeof *r);
    *r = sum;
    return r;
}

static void test_queue(void)
{
    pthread_t p[3], c[2];
    for (intptr_t i = 0; i < 3; i++)
        pthread_create(&p[i], NULL, producer, (void *)i);
    pthread_create(&c[0], NULL, consumer, (void *)(intptr_t)(PER_PRODUCER * 2));
    pthread_create(&c[1], NULL, consumer, (void *)(intptr_t)(PER_PRODUCER * 1));
    for (int i = 0; i < 3; i++)
        pthread_join(p[i], NULL);
    long long total = 0;
    for (int i = 0; i < 2; i++) {
        void *r;
        pthread_join(c[i], &r);
        total += *(long long *)r;
        free(r);
    }
    long long n = 3LL * PER_PRODUCER;
    printf("queue: total=%lld expected=%lld\n", total, n * (n - 1) / 2);
    CHECK(total == n * (n - 1) / 2);
}

/* TLS, once, barrier, rwlock */
static __thread int tls_value = 17;
static __thread char tls_buf[64];
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int once_runs;
static void once_fn(void) { once_runs++; }
static pthread_barrier_t barrier;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static int shared_table[16];
static int serial_threads;
static pthread_key_t key;
static int key_destructor_runs;
static void key_destructor(void *p)
{
    __atomic_fetch_add(&key_destructor_runs, 1, __ATOMIC_SEQ_CST);
    free(p);
}

static void *tls_worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    int ok = tls_value == 17 && tls_buf[0] == 0; /* fresh TLS image per thread */
    tls_value = id * 1000;
    snprintf(tls_buf, sizeof tls_buf, "thread-%d", id);
    pthread_once(&once, once_fn);
    int *spec = malloc(sizeof *spec);
    *spec = id;
    pthread_setspecific(key, spec);
    int r = pthread_barrier_wait(&barrier);
    if (r == PTHREAD_BARRIER_SERIAL_THREAD)
        __atomic_fetch_add(&serial_threads, 1, __ATOMIC_SEQ_CST);
    for (int i = 0; i < 1000; i++) {
        if (i % 10 == id) {
            pthread_rwlock_wrlock(&rw);
            shared_table[i % 16] += id + 1;
            pthread_rwlock_unlock(&rw);
        } else {
            pthread_rwlock_rdlock(&rw);
            volatile int v = shared_table[i % 16];
            (void)v;
            pthread_rwlock_unlock(&rw);
        }
    }
    /* our TLS survived everyone else writing theirs */
    char expect[64];
    snprintf(expect, sizeof expect, "thread-%d", id);
    ok = ok && tls_value == id * 1000 && strcmp(tls_buf, expect) == 0 &&
         *(int *)pthread_getspecific(key) == id;
    /* thread ids are distinct from the main thread's */
    ok = ok && syscall(SYS_gettid) != getpid();
    return (void *)(intptr_t)ok;
}

static void test_tls(void)
{
    pthread_key_create(&key, key_destructor);
    pthread_barrier_init(&barrier, NULL, NTHREADS);
    pthread_t t[NTHREADS];
    for (intptr_t i = 0; i < NTHREADS; i++)
        pthread_create(&t[i], NULL, tls_worker, (void *)i);
    int allok = 1;
    for (int i = 0; i < NTHREADS; i++) {
        void *r;
        pthread_join(t[i], &r);
        allok &= (int)(intptr_t)r;
    }
    int sum = 0;
    for (int i = 0; i < 16; i++)
        sum += shared_table[i];
    printf("tls ok=%d main tls=%d once_runs=%d serial=%d rw-sum=%d key-dtors=%d\n", allok,
           tls_value, once_runs, serial_threads, sum, key_destructor_runs);
    CHECK(allok && tls_value == 17 && once_runs == 1 && serial_threads == 1);
    CHECK(key_destructor_runs == NTHREADS);
    pthread_barrier_destroy(&barrier);
}

/* many short-lived threads, detached ones, big stacks */
static int detached_done;
static void *tiny(void *arg)
{
    return (void *)((intptr_t)arg * 2);
}
static void *detached_fn(void *arg)
{
    (void)arg;
    __atomic_fetch_add(&detached_done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}
static void *deep_stack(void *arg)
{
    /* use most of a 1 MiB stack */
    volatile char big[900 * 1024];
    big[0] = 1;
    big[sizeof big - 1] = 2;
    return (void *)(intptr_t)(big[0] + big[sizeof big - 1] + (int)(intptr_t)arg);
}

static void test_many(void)
{
    intptr_t sum = 0;
    for (intptr_t i = 0; i < 200; i++) {
        pthread_t t;
        void *r;
        CHECK(pthread_create(&t, NULL, tiny, (void *)i) == 0);
        pthread_join(t, &r);
        sum += (intptr_t)r;
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    for (int i = 0; i < 20; i++) {
        pthread_t t;
        CHECK(pthread_create(&t, &attr, detached_fn, NULL) == 0);
    }
    pthread_attr_destroy(&attr);
    for (int spins = 0; __atomic_load_n(&detached_done, __ATOMIC_SEQ_CST) < 20 && spins < 10000; spins++)
        usleep(1000);
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 1024 * 1024);
    pthread_t t;
    void *r;
    CHECK(pthread_create(&t, &attr, deep_stack, (void *)40) == 0);
    pthread_join(t, &r);
    pthread_attr_destroy(&attr);
    printf("many threads: sum=%ld detached=%d deep=%ld\n", (long)sum, detached_done, (long)(intptr_t)r);
    CHECK(sum == 199 * 200);
}

/* a signal sent to one thread runs the handler on that thread */
static volatile pid_t handler_tid;
static void on_usr1(int sig)
{
    (void)sig;
    handler_tid = (pid_t)syscall(SYS_gettid);
}
static pthread_barrier_t sigbar;
static volatile pid_t worker_tid;
static void *sig_worker(void *arg)
{
    (void)arg;
    worker_tid = (pid_t)syscall(SYS_gettid);
    pthread_barrier_wait(&sigbar); /* tid published */
    pthread_barrier_wait(&sigbar); /* signal sent */
    return NULL;
}

static void test_thread_signal(void)
{
    signal(SIGUSR1, on_usr1);
    pthread_barrier_init(&sigbar, NULL, 2);
    pthread_t t;
    pthread_create(&t, NULL, sig_worker, NULL);
    pthread_barrier_wait(&sigbar);
    pthread_kill(t, SIGUSR1);
    for (int i = 0; i < 5000 && handler_tid == 0; i++)
        usleep(1000);
    pthread_barrier_wait(&sigbar);
    pthread_join(t, NULL);
    printf("pthread_kill handled on target thread: %d\n", handler_tid == worker_tid);
    pthread_barrier_destroy(&sigbar);
}

int main(void)
{
    test_atomic_ops();
    test_counters();
    test_big_counters();
    test_queue();
    test_tls();
    test_many();
    test_thread_signal();
    printf("threads: %s (%d failures)\n", failures ? "FAIL" : "ok", failures);
    return failures;
}

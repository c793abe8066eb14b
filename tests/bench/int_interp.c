/* Integer kernel: a bytecode interpreter, dispatched twice: once through a
 * `switch` (jump table: an indirect jump per instruction) and once with
 * GCC computed goto (threaded code: one indirect jump per handler). The
 * program counts the Collatz steps of 1..N and sums primes by trial division. */
#include "bench.h"

enum { PUSH, LOAD, STORE, ADD, SUB, MUL, DIV, MOD, AND, SHR, JMP, JZ, JNZ, LT, EQ, DUP, POP, HALT };

typedef struct { uint8_t op; int32_t arg; } insn;

/* A tiny assembler: labels are resolved after emission. */
enum { L_OUTER, L_INNER, L_EVEN, L_NEXT, L_PRIMES, L_PLOOP, L_DLOOP, L_ISPRIME, L_NOTPRIME, L_DONE, NLABELS };
static insn prog[128];
static int np, label_at[NLABELS], uses_label[128];
static void E(int op, int32_t arg) { uses_label[np] = 0; prog[np++] = (insn){ (uint8_t)op, arg }; }
static void J(int op, int label) { uses_label[np] = 1; prog[np++] = (insn){ (uint8_t)op, label }; }
static void L(int label) { label_at[label] = np; }

/* locals: 0 = i, 1 = x, 2 = total Collatz steps, 3 = limit, 4 = p, 5 = d, 6 = sum of primes */
enum { I, X, STEPS, LIM, P, D, PSUM };

static void assemble(void) {
    /* for (i = 1; i < lim; i++) for (x = i; x != 1; steps++) x = x & 1 ? 3x + 1 : x >> 1; */
    E(PUSH, 1); E(STORE, I);
    L(L_OUTER); E(LOAD, I); E(LOAD, LIM); E(LT, 0); J(JZ, L_PRIMES);
    E(LOAD, I); E(STORE, X);
    L(L_INNER); E(LOAD, X); E(PUSH, 1); E(EQ, 0); J(JNZ, L_NEXT);
    E(LOAD, STEPS); E(PUSH, 1); E(ADD, 0); E(STORE, STEPS);
    E(LOAD, X); E(PUSH, 1); E(AND, 0); J(JZ, L_EVEN);
    E(LOAD, X); E(PUSH, 3); E(MUL, 0); E(PUSH, 1); E(ADD, 0); E(STORE, X); J(JMP, L_INNER);
    L(L_EVEN); E(LOAD, X); E(PUSH, 1); E(SHR, 0); E(STORE, X); J(JMP, L_INNER);
    L(L_NEXT); E(LOAD, I); E(PUSH, 1); E(ADD, 0); E(STORE, I); J(JMP, L_OUTER);
    /* for (p = 2; p < lim; p++) { for (d = 2; d * d <= p; d++) if (p % d == 0) not prime; psum += p; } */
    L(L_PRIMES); E(PUSH, 2); E(STORE, P);
    L(L_PLOOP); E(LOAD, P); E(LOAD, LIM); E(LT, 0); J(JZ, L_DONE);
    E(PUSH, 2); E(STORE, D);
    L(L_DLOOP); E(LOAD, D); E(DUP, 0); E(MUL, 0); E(LOAD, P); E(PUSH, 1); E(ADD, 0); E(LT, 0); J(JZ, L_ISPRIME);
    E(LOAD, P); E(LOAD, D); E(MOD, 0); J(JZ, L_NOTPRIME);
    E(LOAD, D); E(PUSH, 1); E(ADD, 0); E(STORE, D); J(JMP, L_DLOOP);
    L(L_ISPRIME); E(LOAD, PSUM); E(LOAD, P); E(ADD, 0); E(STORE, PSUM);
    L(L_NOTPRIME); E(LOAD, P); E(PUSH, 1); E(ADD, 0); E(STORE, P); J(JMP, L_PLOOP);
    L(L_DONE); E(HALT, 0);
    for (int k = 0; k < np; k++) if (uses_label[k]) prog[k].arg = label_at[prog[k].arg];
}

/* The same computation in C, to check the interpreters. */
static int64_t direct(int64_t lim) {
    int64_t steps = 0, psum = 0;
    for (int64_t i = 1; i < lim; i++) for (int64_t x = i; x != 1; steps++) x = x & 1 ? 3 * x + 1 : x >> 1;
    for (int64_t p = 2; p < lim; p++) {
        int prime = 1;
        for (int64_t d = 2; d * d <= p; d++) if (p % d == 0) { prime = 0; break; }
        if (prime) psum += p;
    }
    return steps * 1000003 + psum;
}

static int64_t run_switch(int64_t *loc) {
    int64_t st[64]; int sp = 0; int pc = 0;
    for (;;) {
        insn i = prog[pc++];
        switch (i.op) {
        case PUSH: st[sp++] = i.arg; break;
        case LOAD: st[sp++] = loc[i.arg]; break;
        case STORE: loc[i.arg] = st[--sp]; break;
        case ADD: sp--; st[sp - 1] += st[sp]; break;
        case SUB: sp--; st[sp - 1] -= st[sp]; break;
        case MUL: sp--; st[sp - 1] *= st[sp]; break;
        case DIV: sp--; st[sp - 1] /= st[sp]; break;
        case MOD: sp--; st[sp - 1] %= st[sp]; break;
        case AND: sp--; st[sp - 1] &= st[sp]; break;
        case SHR: sp--; st[sp - 1] >>= st[sp]; break;
        case JMP: pc = i.arg; break;
        case JZ: if (st[--sp] == 0) pc = i.arg; break;
        case JNZ: if (st[--sp] != 0) pc = i.arg; break;
        case LT: sp--; st[sp - 1] = st[sp - 1] < st[sp]; break;
        case EQ: sp--; st[sp - 1] = st[sp - 1] == st[sp]; break;
        case DUP: st[sp] = st[sp - 1]; sp++; break;
        case POP: sp--; break;
        case HALT: return loc[2] * 1000003 + loc[6];
        default: return -1;
        }
    }
}

static int64_t run_threaded(int64_t *loc) {
    static void *tab[] = { &&l_PUSH, &&l_LOAD, &&l_STORE, &&l_ADD, &&l_SUB, &&l_MUL, &&l_DIV,
        &&l_MOD, &&l_AND, &&l_SHR, &&l_JMP, &&l_JZ, &&l_JNZ, &&l_LT, &&l_EQ, &&l_DUP, &&l_POP, &&l_HALT };
    int64_t st[64]; int sp = 0; const insn *ip = prog;
#define NEXT goto *tab[ip->op]
    NEXT;
l_PUSH: st[sp++] = ip->arg; ip++; NEXT;
l_LOAD: st[sp++] = loc[ip->arg]; ip++; NEXT;
l_STORE: loc[ip->arg] = st[--sp]; ip++; NEXT;
l_ADD: sp--; st[sp - 1] += st[sp]; ip++; NEXT;
l_SUB: sp--; st[sp - 1] -= st[sp]; ip++; NEXT;
l_MUL: sp--; st[sp - 1] *= st[sp]; ip++; NEXT;
l_DIV: sp--; st[sp - 1] /= st[sp]; ip++; NEXT;
l_MOD: sp--; st[sp - 1] %= st[sp]; ip++; NEXT;
l_AND: sp--; st[sp - 1] &= st[sp]; ip++; NEXT;
l_SHR: sp--; st[sp - 1] >>= st[sp]; ip++; NEXT;
l_JMP: ip = prog + ip->arg; NEXT;
l_JZ: if (st[--sp] == 0) ip = prog + ip->arg; else ip++; NEXT;
l_JNZ: if (st[--sp] != 0) ip = prog + ip->arg; else ip++; NEXT;
l_LT: sp--; st[sp - 1] = st[sp - 1] < st[sp]; ip++; NEXT;
l_EQ: sp--; st[sp - 1] = st[sp - 1] == st[sp]; ip++; NEXT;
l_DUP: st[sp] = st[sp - 1]; sp++; ip++; NEXT;
l_POP: sp--; ip++; NEXT;
l_HALT: return loc[2] * 1000003 + loc[6];
#undef NEXT
}

int main(int argc, char **argv) {
    long limit = bench_scale(argc, argv, 24000);
    assemble();
    int64_t loc[8] = {0};
    loc[3] = limit;
    int64_t a = run_switch(loc);
    int64_t loc2[8] = {0};
    loc2[3] = limit;
    int64_t b = run_threaded(loc2);
    int64_t c = direct(limit);
    if (a != b || a != c) { printf("int_interp: switch %lld, threaded %lld, direct %lld disagree\n", (long long)a, (long long)b, (long long)c); return 1; }
    printf("int_interp checksum=%lld steps=%lld primesum=%lld\n", (long long)a, (long long)loc[2], (long long)loc[6]);
    return 0;
}

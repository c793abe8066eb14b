/* fpenv.c — the floating-point environment: <fenv.h> rounding modes and
 * exception flags, exact hexadecimal output (%a), %.17g / strtod round trips,
 * and libm (sin, cos, exp, log, pow, atan2, fma).
 *
 * Every operand is volatile so the operations run at run time, under the
 * rounding mode in force (GCC ignores `#pragma STDC FENV_ACCESS` and would
 * otherwise fold them at compile time in round-to-nearest). Results are stored and printed after the rounding mode
 * is back to nearest. IEEE 754 fixes every result printed exactly here, on
 * arm64 and x86-64 alike; transcendental functions are printed with %.12g,
 * since libm may differ in the last ulp between the two architectures.
 * Exit status: number of failed checks.
 */
#include <fenv.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static const struct {
    int mode;
    const char *name;
} modes[] = {
    {FE_TONEAREST, "nearest"},
    {FE_UPWARD, "upward"},
    {FE_DOWNWARD, "downward"},
    {FE_TOWARDZERO, "towardzero"},
};

static void flags(const char *what)
{
    int f = fetestexcept(FE_ALL_EXCEPT);
    printf("%-28s%s%s%s%s%s%s\n", what, f & FE_INVALID ? " invalid" : "",
           f & FE_DIVBYZERO ? " divbyzero" : "", f & FE_OVERFLOW ? " overflow" : "",
           f & FE_UNDERFLOW ? " underflow" : "", f & FE_INEXACT ? " inexact" : "",
           f ? "" : " (none)");
}

static void rounding(void)
{
    volatile double one = 1.0, three = 3.0, two = 2.0, tenth = 0.1, big = 1e308;
    volatile double half = 2.5, mhalf = -2.5, tiny = 1e-300;
    volatile float fone = 1.0f, fthree = 3.0f;
    volatile double a = 0x1.0000000000001p0, b = 0x1.fffffffffffffp-1, c = -0x1p-53;
    volatile int64_t i64 = INT64_MAX;
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        double r[12];
        float f[3];
        long li[2];
        CHECK(fesetround(modes[m].mode) == 0);
        CHECK(fegetround() == modes[m].mode);
        r[0] = one / three;
        r[1] = -two / three;
        r[2] = sqrt(two);
        r[3] = tenth * three;
        r[4] = big * 10.0 * tiny; /* overflows to inf or DBL_MAX first */
        r[5] = rint(half);
        r[6] = nearbyint(mhalf);
        r[7] = fma(a, b, c);
        r[8] = (double)i64;
        r[9] = one + 0x1p-60;
        r[10] = -(one + 0x1p-60);
        r[11] = (double)(float)(one / three);
        f[0] = fone / fthree;
        f[1] = (float)(tenth);
        f[2] = sqrtf(fthree);
        li[0] = lrint(half);
        li[1] = lrint(mhalf);
        fesetround(FE_TONEAREST);
        printf("%-10s", modes[m].name);
        for (int i = 0; i < 12; i++)
            printf(" %a", r[i]);
        for (int i = 0; i < 3; i++)
            printf(" %a", (double)f[i]);
        printf(" %ld %ld\n", li[0], li[1]);
    }
}

static void exceptions(void)
{
    volatile double zero = 0.0, one = 1.0, three = 3.0, dmax = DBL_MAX, dmin = DBL_MIN;
    volatile double neg = -1.0, huge = 1e30, nan_ = NAN;
    volatile float fmax_ = FLT_MAX, fmin_ = FLT_MIN;
    volatile double sink;
    volatile long lsink;
    volatile float fsink;

    feclearexcept(FE_ALL_EXCEPT);
    flags("cleared");
    sink = one + one;
    flags("1+1");
    feclearexcept(FE_ALL_EXCEPT);
    sink = one / three;
    flags("1/3");
    feclearexcept(FE_ALL_EXCEPT);
    sink = one / zero;
    flags("1/0");
    feclearexcept(FE_ALL_EXCEPT);
    sink = zero / zero;
    flags("0/0");
    feclearexcept(FE_ALL_EXCEPT);
    sink = sqrt(neg);
    flags("sqrt(-1)");
    feclearexcept(FE_ALL_EXCEPT);
    sink = dmax * 2.0;
    flags("DBL_MAX*2");
    feclearexcept(FE_ALL_EXCEPT);
    sink = dmin / three;
    flags("DBL_MIN/3");
    feclearexcept(FE_ALL_EXCEPT);
    sink = dmin * 0.5;
    flags("DBL_MIN/2 (exact)");
    feclearexcept(FE_ALL_EXCEPT);
    fsink = fmax_ * 2.0f;
    flags("FLT_MAX*2");
    feclearexcept(FE_ALL_EXCEPT);
    fsink = fmin_ / 3.0f;
    flags("FLT_MIN/3");
    feclearexcept(FE_ALL_EXCEPT);
    fsink = (float)dmax;
    flags("(float)DBL_MAX");
    feclearexcept(FE_ALL_EXCEPT);
    lsink = lrint(huge * huge);
    flags("lrint(1e60)");
    feclearexcept(FE_ALL_EXCEPT);
    lsink = lrint(nan_);
    flags("lrint(nan)");
    feclearexcept(FE_ALL_EXCEPT);
    sink = nan_ + one;
    flags("qnan+1");
    feclearexcept(FE_ALL_EXCEPT);
    sink = nan_ < one; /* ordered comparison with a NaN */
    flags("qnan<1");
    feclearexcept(FE_ALL_EXCEPT);
    sink = isless(nan_, one); /* quiet comparison */
    flags("isless(qnan,1)");
    feclearexcept(FE_ALL_EXCEPT);
    sink = log(zero);
    flags("log(0)");
    (void)sink;
    (void)lsink;
    (void)fsink;

    /* raise / test / save / restore */
    feclearexcept(FE_ALL_EXCEPT);
    CHECK(feraiseexcept(FE_OVERFLOW | FE_INEXACT) == 0);
    flags("feraiseexcept(OF|IX)");
    fexcept_t saved;
    CHECK(fegetexceptflag(&saved, FE_ALL_EXCEPT) == 0);
    feclearexcept(FE_ALL_EXCEPT);
    CHECK(fesetexceptflag(&saved, FE_OVERFLOW) == 0);
    flags("fesetexceptflag(OF)");
    fenv_t env;
    fesetround(FE_UPWARD);
    CHECK(feholdexcept(&env) == 0);
    CHECK(fetestexcept(FE_ALL_EXCEPT) == 0);
    sink = one / zero;
    flags("held 1/0");
    CHECK(feupdateenv(&env) == 0);
    flags("after feupdateenv");
    CHECK(fegetround() == FE_UPWARD);
    fesetround(FE_TONEAREST);
    CHECK(fegetenv(&env) == 0);
    fesetround(FE_DOWNWARD);
    CHECK(fesetenv(&env) == 0);
    CHECK(fegetround() == FE_TONEAREST);
    CHECK(fesetenv(FE_DFL_ENV) == 0);
    flags("FE_DFL_ENV");
}

static uint64_t bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    return u;
}

static void conversions(void)
{
    static const char *inputs[] = {
        "0.1", "1e23", "2.2250738585072011e-308", "2.2250738585072014e-308",
        "4.9406564584124654e-324", "2.4703282292062327e-324", "1.7976931348623157e308",
        "1.7976931348623159e308", "0x1.fffffffffffffp+1023", "0x1p-1074", "-0.0",
        "123456789012345678901234567890", "3.141592653589793238462643383279",
        "0x1.8p1", "inf", "-Infinity", "1e-400", "9007199254740993",
    };
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        char *end;
        double d = strtod(inputs[i], &end);
        float f = strtof(inputs[i], NULL);
        printf("strtod %-34s %a %.17g %016llx | %a %.9g\n", inputs[i], d, d,
               (unsigned long long)bits(d), (double)f, (double)f);
        CHECK(*end == 0);
    }
    /* %.17g and %a round-trip every double exactly. */
    uint64_t x = 0x9e3779b97f4a7c15ull;
    int bad = 0;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double d;
        memcpy(&d, &x, 8);
        if (isnan(d))
            continue;
        char buf[64];
        snprintf(buf, sizeof buf, "%.17g", d);
        if (bits(strtod(buf, NULL)) != bits(d))
            bad++;
        snprintf(buf, sizeof buf, "%a", d);
        if (bits(strtod(buf, NULL)) != bits(d))
            bad++;
    }
    printf("round trips failed: %d\n", bad);
    CHECK(bad == 0);
    printf("%.3a %.0a %A %a %a %e %.30f\n", 1.0 / 3, 1.5, 255.5, DBL_MIN / 4, -0.0, 1e-310, 0.1);
}

static void libm(void)
{
    static const double xs[] = {0.5, 1.0, 2.0, 10.0, 100.0, 1e-8, -3.25, 0.7853981633974483};
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
        volatile double x = xs[i];
        printf("x=%-22.17g sin %.12g cos %.12g exp %.12g log %.12g pow %.12g atan2 %.12g\n", x,
               sin(x), cos(x), exp(x), log(fabs(x)), pow(fabs(x), 1.5), atan2(x, 1.25));
    }
    /* fma is exact: one rounding. */
    volatile double a = 0x1.0000001p0, b = 0x1.fffffep-1, c = -1.0;
    printf("fma %a fmaf %a\n", fma(a, b, c), (double)fmaf(0x1.000002p0f, 0x1.fffffcp-1f, -1.0f));
    printf("fma(inf,0,1) nan=%d fma(1,1,-1) %a\n", isnan(fma(INFINITY, 0.0, 1.0)),
           fma(1.0, 1.0, -1.0));
}

int main(void)
{
    rounding();
    exceptions();
    conversions();
    libm();
    printf("fpenv: %s (%d failures)\n", failures ? "FAIL" : "ok", failures);
    return failures;
}

/* fpbasic.c — basic floating point: arithmetic, conversions, printf("%f"),
 * strtod and a few libm calls.
 *
 * Built with -ffp-contract=off (see Makefile) so the compiler does not fuse
 * a*b+c into an FMA on arm64 only. Output avoids what legitimately differs
 * between x86-64 and arm64: the sign of a default NaN (x86 produces -nan,
 * arm64 +nan — we print isnan() instead), long double, and the last ulp of
 * transcendental functions (printed with %.12g).
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static uint64_t bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    return u;
}
static uint32_t fbits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

int main(void)
{
    volatile double a = 1.0, b = 3.0, c = 0.1, d = 1e300, t = 1e-310;
    volatile float fa = 1.0f, fb = 3.0f;
    printf("%.6f %.6f %.17g\n", a / b, c * 3, c + 0.2);
    printf("%e %E %g %G %a\n", d, a / b, 1e-5, 123456789.0, 0.1);
    printf("%10.3f|%-10.2f|%+.1f|%010.4f\n", 3.14159, 2.71828, 1.05, -1.5);
    printf("bits 1/3=%016llx 1/3f=%08x\n", (unsigned long long)bits(a / b),
           fbits(fa / fb));
    printf("d*d=%g d*d*0=isnan:%d -d*d=%g denorm=%g denorm/2=%a\n", d * d,
           isnan(d * d * 0), -d * d, t, t / 2);
    CHECK(bits(a / b) == 0x3fd5555555555555ULL);
    CHECK(fbits(fa / fb) == 0x3eaaaaabu);

    /* conversions (all in range) */
    volatile double big = 4294967295.75, neg = -2.5, half = 2.5;
    printf("(int)-2.5=%d (unsigned)4294967295.75=%u (long)1e18=%ld (float)0.1=%.10f\n",
           (int)neg, (unsigned)big, (long)1e18, (double)(float)0.1);
    printf("int->double %g %g u64->double %.1f i64->float %.1f\n", (double)INT32_MIN,
           (double)(uint32_t)4000000000u, (double)UINT64_MAX, (float)(int64_t)-123456789012345LL);
    printf("round=%g %g trunc=%g floor=%g ceil=%g rint=%g %g lrint=%ld nearbyint=%g\n",
           round(half), round(neg), trunc(neg), floor(neg), ceil(neg), rint(half),
           rint(3.5), lrint(neg), nearbyint(-0.5));

    /* libm */
    printf("sqrt2=%.17g sqrtf2=%.9g\n", sqrt(2.0), (double)sqrtf(2.0f));
    CHECK(bits(sqrt(2.0)) == 0x3ff6a09e667f3bcdULL);
    printf("sin=%.12g cos=%.12g tan=%.12g atan2=%.12g\n", sin(1.0), cos(1.0), tan(0.5),
           atan2(1.0, -1.0));
    printf("exp=%.12g log=%.12g log10=%.12g log2=%.12g pow=%.12g cbrt=%.12g hypot=%.12g\n",
           exp(1.0), log(10.0), log10(2.0), log2(10.0), pow(2.0, 0.5), cbrt(27.0),
           hypot(3.0, 4.0));
    printf("fabs=%g fmod=%g remainder=%g copysign=%g fmin=%g fmax=%g fma=%.17g\n",
           fabs(-3.5), fmod(10.0, 3.0), remainder(10.0, 3.0), copysign(2.0, -0.0),
           fmin(1.0, -1.0), fmax(1.0, -1.0), fma(0.1, 10.0, -1.0));
    int ex;
    double fr = frexp(1234.5, &ex), ip;
    double fp = modf(-3.75, &ip);
    printf("frexp=%g,%d ldexp=%g modf=%g,%g\n", fr, ex, ldexp(0.75, 10), fp, ip);
    printf("isinf=%d isnan=%d signbit(-0.0)=%d fpclassify(denorm)=%d FLT_EPSILON=%g DBL_MAX=%g\n",
           isinf(d * d), isnan(sqrt(-1.0)), signbit(-0.0), fpclassify(t) == FP_SUBNORMAL,
           FLT_EPSILON, DBL_MAX);

    /* strtod / atof / sscanf */
    const char *inputs[] = {"3.14159", "-0.0", "1e-320", "0x1.8p3", "inf", "-Infinity",
                            "1e400", "  12.5e-1xyz", ".5", "123456789012345678901234567890"};
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        char *end;
        double v = strtod(inputs[i], &end);
        printf("strtod(\"%s\")=%.17g bits=%016llx end=+%td\n", inputs[i], v,
               (unsigned long long)bits(v), end - inputs[i]);
    }
    float sf = strtof("0.1", NULL);
    double sd = 0;
    sscanf("2.5e3", "%lf", &sd);
    printf("strtof=%a sscanf=%g atof=%g\n", (double)sf, sd, atof("-7.25"));

    /* summation and a small mandelbrot (exact IEEE ops, deterministic) */
    double s = 0, comp = 0;
    for (int i = 1; i <= 100000; i++) {
        double y = 1.0 / ((double)i * i) - comp;
        double tt = s + y;
        comp = (tt - s) - y;
        s = tt;
    }
    printf("basel kahan=%.15f (pi^2/6=%.15f)\n", s, M_PI * M_PI / 6);
    float fs = 0;
    for (int i = 0; i < 1000; i++)
        fs += 0.001f * (float)i;
    printf("float sum=%.9g bits=%08x\n", (double)fs, fbits(fs));
    unsigned hash = 0;
    for (int y = -12; y <= 12; y++) {
        char line[80];
        int k = 0;
        for (int x = -39; x <= 20; x++) {
            double cr = x / 20.0, ci = y / 10.0, zr = 0, zi = 0;
            int it = 0;
            while (it < 100 && zr * zr + zi * zi < 4.0) {
                double nz = zr * zr - zi * zi + cr;
                zi = 2 * zr * zi + ci;
                zr = nz;
                it++;
            }
            line[k++] = " .:-=+*#%@"[it % 10];
            hash = hash * 31 + (unsigned)it;
        }
        line[k] = 0;
        if (y % 4 == 0)
            printf("|%s|\n", line);
    }
    printf("mandel hash=%08x\n", hash);
    printf("fpbasic: %s\n", failures ? "FAIL" : "ok");
    return failures ? 1 : 0;
}

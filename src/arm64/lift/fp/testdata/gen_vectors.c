#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>

static uint64_t rs = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) { rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17; return rs; }

static const uint64_t fpcrs[] = {0, 1ull<<22, 2ull<<22, 3ull<<22, 1ull<<24, (1ull<<24)|(1ull<<25),
  (1ull<<25)|(2ull<<22), 1ull<<26, (1ull<<26)|(3ull<<22), (1ull<<24)|(1ull<<22), (1ull<<24)|(3ull<<22)};
#define NFPCR (sizeof fpcrs / sizeof fpcrs[0])

static const uint32_t sspec[] = {0, 0x80000000, 0x3f800000, 0xbf800000, 1, 0x80000001, 0x007fffff, 0x00800000,
 0x80800000, 0x00800001, 0x7f7fffff, 0xff7fffff, 0x7f800000, 0xff800000, 0x7fc00000, 0x7fc12345, 0xffc00001,
 0x7f800001, 0x7fa00005, 0xff812345, 0x3f000000, 0x3fc00000, 0x40200000, 0xc0200000, 0x40600000, 0x3f7fffff,
 0x4f000000, 0x4f800000, 0xcf000000, 0x5f000000, 0x5f800000, 0x4effffff, 0xcf000001, 0x3effffff, 0x00400000,
 0x34000000, 0x0c000000, 0x33800000, 0x477fe000, 0x477ff000, 0x47800000, 0x387fc000, 0x33000000, 0x00000fff};
static const uint64_t dspec[] = {0, 0x8000000000000000ull, 0x3ff0000000000000ull, 0xbff0000000000000ull, 1, 0x8000000000000001ull,
 0x000fffffffffffffull, 0x0010000000000000ull, 0x8010000000000000ull, 0x0010000000000001ull, 0x7fefffffffffffffull,
 0xffefffffffffffffull, 0x7ff0000000000000ull, 0xfff0000000000000ull, 0x7ff8000000000000ull, 0x7ff8000012345678ull,
 0xfff8000000000001ull, 0x7ff0000000000001ull, 0x7ff4000000000005ull, 0xfff0000123456789ull, 0x3fe0000000000000ull,
 0x3ff8000000000000ull, 0x4004000000000000ull, 0xc004000000000000ull, 0x400c000000000000ull, 0x3fefffffffffffffull,
 0x41e0000000000000ull, 0x41f0000000000000ull, 0xc1e0000000000000ull, 0x43e0000000000000ull, 0x43f0000000000000ull,
 0x41dfffffffffffffull, 0xc1e0000000200000ull, 0x41efffffffe00000ull, 0x43efffffffffffffull, 0xc3e0000000000001ull,
 0x3fdfffffffffffffull, 0x0008000000000000ull, 0x3810000000000000ull, 0x380fffffffffffffull, 0x36a0000000000000ull,
 0x47efffffe0000000ull, 0x47efffff00000000ull, 0x3e70000000000000ull, 0x40effe0000000000ull, 0x40efff0000000000ull,
 0x3f0ff80000000000ull, 0x3e6ff00000000000ull, 0x0000000000000fffull, 0x36a0000000000001ull};
static const uint64_t ispec[] = {0, 1, 0xffffffffffffffffull, 0x7fffffff, 0x80000000, 0xffffffff, 0xffffffff80000000ull,
 0x7fffffffffffffffull, 0x8000000000000000ull, 0x20000000000001ull, 0x1000001, 0x1000003, 0xfffffffffefffffdull,
 0x7fffff80, 0x7fffffc0, 0xffffffffffffff00ull, 0x123456789abcdefull, 3, 0x8000008000000000ull};
#define NS (sizeof sspec/4)
#define ND (sizeof dspec/8)
#define NI (sizeof ispec/8)

static uint32_t rs32(void) {
  uint64_t r = rnd();
  switch (r & 7) {
  case 0: case 1: return sspec[(r >> 8) % NS];
  case 2: return (uint32_t)(r >> 16);
  case 3: { uint32_t e = (r >> 20) % 8; uint32_t ex = e < 4 ? e : 254 - (e-4); return ((r>>40)&1)<<31 | ex << 23 | (uint32_t)((r >> 24) & 0x7fffff); }
  case 4: { uint32_t ex = 100 + (r >> 20) % 80; return ((r>>40)&1)<<31 | ex << 23 | (uint32_t)((r >> 41) & 0x7fffff); }
  case 5: { uint32_t ex = 120 + (r >> 20) % 70; return ((r>>40)&1)<<31 | ex << 23 | (uint32_t)((r >> 41) & 0x7f0000); }
  default: { uint32_t ex = (r >> 20) % 256; return ((r>>40)&1)<<31 | ex << 23 | (uint32_t)((r >> 41) & 0x7fffff); }
  }
}
static uint64_t rd64(void) {
  uint64_t r = rnd();
  switch (r & 7) {
  case 0: case 1: return dspec[(r >> 8) % ND];
  case 2: return rnd();
  case 3: { uint64_t e = (r >> 20) % 8; uint64_t ex = e < 4 ? e : 2046 - (e-4); return ((r>>40)&1)<<63 | ex << 52 | (rnd() & 0xfffffffffffffull); }
  case 4: { uint64_t ex = 900 + (r >> 20) % 250; return ((r>>40)&1)<<63 | ex << 52 | (rnd() & 0xfffffffffffffull); }
  case 5: { uint64_t ex = 1000 + (r >> 20) % 100; return ((r>>40)&1)<<63 | ex << 52 | (rnd() & 0xfff0000000000ull); }
  default: { uint64_t ex = (r >> 20) % 2048; return ((r>>40)&1)<<63 | ex << 52 | (rnd() & 0xfffffffffffffull); }
  }
}
static uint64_t ri64(void) {
  uint64_t r = rnd();
  switch (r & 3) { case 0: return ispec[(r >> 8) % NI]; case 1: return rnd(); case 2: return rnd() >> ((r >> 8) % 64); default: return -(rnd() >> ((r >> 8) % 64)); }
}
static uint64_t rfpcr(void) { return fpcrs[rnd() % NFPCR]; }

#define PRE "msr fpcr, %[c]\n msr fpsr, xzr\n "
#define POST "\n mrs %[f], fpsr\n msr fpcr, xzr"

#define BIN(name, insn, T, U, M) \
static void t_##name(U a, U b, uint64_t c) { T fa, fb, fr; U r; uint64_t f; memcpy(&fa,&a,sizeof a); memcpy(&fb,&b,sizeof b); \
  asm volatile(PRE insn " %" M "[r], %" M "[a], %" M "[b]" POST : [r]"=&w"(fr), [f]"=&r"(f) : [a]"w"(fa), [b]"w"(fb), [c]"r"(c)); \
  memcpy(&r,&fr,sizeof r); printf(#name " %llx %llx %llx 0 -> %llx %llx\n", (unsigned long long)c, (unsigned long long)a, (unsigned long long)b, (unsigned long long)r, (unsigned long long)f); }
#define UN(name, insn, T, U, M, MR, TR, UR) \
static void t_##name(U a, uint64_t c) { T fa; TR fr; UR r; uint64_t f; memcpy(&fa,&a,sizeof a); \
  asm volatile(PRE insn " %" MR "[r], %" M "[a]" POST : [r]"=&w"(fr), [f]"=&r"(f) : [a]"w"(fa), [c]"r"(c)); \
  memcpy(&r,&fr,sizeof r); printf(#name " %llx %llx 0 0 -> %llx %llx\n", (unsigned long long)c, (unsigned long long)a, (unsigned long long)r, (unsigned long long)f); }
#define TRI(name, insn, T, U, M) \
static void t_##name(U a, U b, U d, uint64_t c) { T fa, fb, fd, fr; U r; uint64_t f; memcpy(&fa,&a,sizeof a); memcpy(&fb,&b,sizeof b); memcpy(&fd,&d,sizeof d); \
  asm volatile(PRE insn " %" M "[r], %" M "[a], %" M "[b], %" M "[d]" POST : [r]"=&w"(fr), [f]"=&r"(f) : [a]"w"(fa), [b]"w"(fb), [d]"w"(fd), [c]"r"(c)); \
  memcpy(&r,&fr,sizeof r); printf(#name " %llx %llx %llx %llx -> %llx %llx\n", (unsigned long long)c, (unsigned long long)a, (unsigned long long)b, (unsigned long long)d, (unsigned long long)r, (unsigned long long)f); }
#define CMP(name, insn, T, U, M) \
static void t_##name(U a, U b, uint64_t c) { T fa, fb; uint64_t r, f; memcpy(&fa,&a,sizeof a); memcpy(&fb,&b,sizeof b); \
  asm volatile(PRE insn " %" M "[a], %" M "[b]\n mrs %[r], nzcv" POST : [r]"=&r"(r), [f]"=&r"(f) : [a]"w"(fa), [b]"w"(fb), [c]"r"(c) : "cc"); \
  printf(#name " %llx %llx %llx 0 -> %llx %llx\n", (unsigned long long)c, (unsigned long long)a, (unsigned long long)b, (unsigned long long)r, (unsigned long long)f); }
/* float -> int */
#define F2I(name, insn, T, U, M, R, IR) \
static void t_##name(U a, uint64_t c) { T fa; IR r; uint64_t f; memcpy(&fa,&a,sizeof a); \
  asm volatile(PRE insn POST : [r]"=&r"(r), [f]"=&r"(f) : [a]"w"(fa), [c]"r"(c)); \
  printf(#name " %llx %llx 0 0 -> %llx %llx\n", (unsigned long long)c, (unsigned long long)a, (unsigned long long)r, (unsigned long long)f); }
/* int -> float */
#define I2F(name, insn, TR, UR, IR) \
static void t_##name(uint64_t a, uint64_t c) { TR fr; UR r; IR ia = (IR)a; uint64_t f; \
  asm volatile(PRE insn POST : [r]"=&w"(fr), [f]"=&r"(f) : [a]"r"(ia), [c]"r"(c)); \
  memcpy(&r,&fr,sizeof r); printf(#name " %llx %llx 0 0 -> %llx %llx\n", (unsigned long long)c, (unsigned long long)ia, (unsigned long long)r, (unsigned long long)f); }

#define BINS(op) BIN(op##_s, #op, float, uint32_t, "s") BIN(op##_d, #op, double, uint64_t, "d")
BINS(fadd) BINS(fsub) BINS(fmul) BINS(fdiv) BINS(fmax) BINS(fmin) BINS(fmaxnm) BINS(fminnm) BINS(fnmul)
#define TRIS(op) TRI(op##_s, #op, float, uint32_t, "s") TRI(op##_d, #op, double, uint64_t, "d")
TRIS(fmadd) TRIS(fmsub) TRIS(fnmadd) TRIS(fnmsub)
CMP(fcmp_s, "fcmp", float, uint32_t, "s") CMP(fcmp_d, "fcmp", double, uint64_t, "d")
CMP(fcmpe_s, "fcmpe", float, uint32_t, "s") CMP(fcmpe_d, "fcmpe", double, uint64_t, "d")
#define UNS(op) UN(op##_s, #op, float, uint32_t, "s", "s", float, uint32_t) UN(op##_d, #op, double, uint64_t, "d", "d", double, uint64_t)
UNS(fsqrt) UNS(frintn) UNS(frintp) UNS(frintm) UNS(frintz) UNS(frinta) UNS(frintx) UNS(frinti)
UN(fcvt_s_d, "fcvt", float, uint32_t, "s", "d", double, uint64_t)
UN(fcvt_d_s, "fcvt", double, uint64_t, "d", "s", float, uint32_t)
UN(fcvt_s_h, "fcvt", float, uint32_t, "s", "h", _Float16, uint16_t)
UN(fcvt_d_h, "fcvt", double, uint64_t, "d", "h", _Float16, uint16_t)
UN(fcvt_h_s, "fcvt", _Float16, uint16_t, "h", "s", float, uint32_t)
UN(fcvt_h_d, "fcvt", _Float16, uint16_t, "h", "d", double, uint64_t)

#define F2IS(op) \
 F2I(op##_w_s, #op " %w[r], %s[a]", float, uint32_t, "s", "w", uint32_t) F2I(op##_x_s, #op " %x[r], %s[a]", float, uint32_t, "s", "x", uint64_t) \
 F2I(op##_w_d, #op " %w[r], %d[a]", double, uint64_t, "d", "w", uint32_t) F2I(op##_x_d, #op " %x[r], %d[a]", double, uint64_t, "d", "x", uint64_t)
F2IS(fcvtns) F2IS(fcvtnu) F2IS(fcvtps) F2IS(fcvtpu) F2IS(fcvtms) F2IS(fcvtmu) F2IS(fcvtzs) F2IS(fcvtzu) F2IS(fcvtas) F2IS(fcvtau)
F2I(fcvtzs_w_s_8, "fcvtzs %w[r], %s[a], #8", float, uint32_t, "s", "w", uint32_t)
F2I(fcvtzs_x_d_32, "fcvtzs %x[r], %d[a], #32", double, uint64_t, "d", "x", uint64_t)
F2I(fcvtzu_w_d_32, "fcvtzu %w[r], %d[a], #32", double, uint64_t, "d", "w", uint32_t)
F2I(fcvtzu_x_s_64, "fcvtzu %x[r], %s[a], #64", float, uint32_t, "s", "x", uint64_t)
F2I(fcvtzs_x_s_1, "fcvtzs %x[r], %s[a], #1", float, uint32_t, "s", "x", uint64_t)
F2I(fcvtzu_w_s_16, "fcvtzu %w[r], %s[a], #16", float, uint32_t, "s", "w", uint32_t)
#define I2FS(op) \
 I2F(op##_s_w, #op " %s[r], %w[a]", float, uint32_t, uint32_t) I2F(op##_s_x, #op " %s[r], %x[a]", float, uint32_t, uint64_t) \
 I2F(op##_d_w, #op " %d[r], %w[a]", double, uint64_t, uint32_t) I2F(op##_d_x, #op " %d[r], %x[a]", double, uint64_t, uint64_t)
I2FS(scvtf) I2FS(ucvtf)
I2F(scvtf_s_w_3, "scvtf %s[r], %w[a], #3", float, uint32_t, uint32_t)
I2F(ucvtf_d_x_64, "ucvtf %d[r], %x[a], #64", double, uint64_t, uint64_t)
I2F(scvtf_d_x_20, "scvtf %d[r], %x[a], #20", double, uint64_t, uint64_t)
I2F(ucvtf_s_w_32, "ucvtf %s[r], %w[a], #32", float, uint32_t, uint32_t)

static uint16_t rh16(void) { uint64_t r = rnd(); static const uint16_t hs[] = {0, 0x8000, 1, 0x3ff, 0x400, 0x7bff, 0x7c00, 0xfc00, 0x7e00, 0x7d00, 0xfd01, 0x7c01, 0x3c00, 0xfbff, 0x7fff, 0xffff}; return (r & 1) ? hs[(r>>8) % 16] : (uint16_t)(r >> 16); }

int main(int argc, char **argv) {
  int N = argc > 1 ? atoi(argv[1]) : 300;
#define LOOP2(f, g) for (int i = 0; i < N; i++) t_##f(g(), g(), rfpcr());
#define SPEC2S(f) for (unsigned i = 0; i < NS; i++) for (unsigned j = 0; j < NS; j++) t_##f(sspec[i], sspec[j], fpcrs[(i+j)%NFPCR]);
#define SPEC2D(f) for (unsigned i = 0; i < ND; i++) for (unsigned j = 0; j < ND; j++) t_##f(dspec[i], dspec[j], fpcrs[(i*7+j)%NFPCR]);
#define ALL2(op) LOOP2(op##_s, rs32) LOOP2(op##_d, rd64) SPEC2S(op##_s) SPEC2D(op##_d)
  ALL2(fadd) ALL2(fsub) ALL2(fmul) ALL2(fdiv) ALL2(fmax) ALL2(fmin) ALL2(fmaxnm) ALL2(fminnm) ALL2(fnmul)
  ALL2(fcmp) ALL2(fcmpe)
#define ALL3(op) for (int i = 0; i < 4*N; i++) { t_##op##_s(rs32(), rs32(), rs32(), rfpcr()); t_##op##_d(rd64(), rd64(), rd64(), rfpcr()); }
  ALL3(fmadd) ALL3(fmsub) ALL3(fnmadd) ALL3(fnmsub)
#define ALL1(op) for (int i = 0; i < N; i++) { t_##op##_s(rs32(), rfpcr()); t_##op##_d(rd64(), rfpcr()); } \
  for (unsigned k = 0; k < NFPCR; k++) { for (unsigned i = 0; i < NS; i++) t_##op##_s(sspec[i], fpcrs[k]); for (unsigned i = 0; i < ND; i++) t_##op##_d(dspec[i], fpcrs[k]); }
  ALL1(fsqrt) ALL1(frintn) ALL1(frintp) ALL1(frintm) ALL1(frintz) ALL1(frinta) ALL1(frintx) ALL1(frinti)
  for (int i = 0; i < N; i++) { t_fcvt_s_d(rs32(), rfpcr()); t_fcvt_d_s(rd64(), rfpcr()); t_fcvt_s_h(rs32(), rfpcr()); t_fcvt_d_h(rd64(), rfpcr()); t_fcvt_h_s(rh16(), rfpcr()); t_fcvt_h_d(rh16(), rfpcr()); }
  for (unsigned k = 0; k < NFPCR; k++) { for (unsigned i = 0; i < NS; i++) { t_fcvt_d_s(dspec[i%ND], fpcrs[k]); t_fcvt_s_d(sspec[i], fpcrs[k]); t_fcvt_h_s(sspec[i], fpcrs[k]); t_fcvt_s_h(sspec[i] >> 16, fpcrs[k]); } }
#define ALLF2I(op) for (int i = 0; i < N; i++) { t_##op##_w_s(rs32(), rfpcr()); t_##op##_x_s(rs32(), rfpcr()); t_##op##_w_d(rd64(), rfpcr()); t_##op##_x_d(rd64(), rfpcr()); } \
  for (unsigned i = 0; i < NS; i++) { t_##op##_w_s(sspec[i], fpcrs[i%NFPCR]); t_##op##_x_s(sspec[i], fpcrs[i%NFPCR]); } \
  for (unsigned i = 0; i < ND; i++) { t_##op##_w_d(dspec[i], fpcrs[i%NFPCR]); t_##op##_x_d(dspec[i], fpcrs[i%NFPCR]); }
  ALLF2I(fcvtns) ALLF2I(fcvtnu) ALLF2I(fcvtps) ALLF2I(fcvtpu) ALLF2I(fcvtms) ALLF2I(fcvtmu) ALLF2I(fcvtzs) ALLF2I(fcvtzu) ALLF2I(fcvtas) ALLF2I(fcvtau)
  for (int i = 0; i < N; i++) { t_fcvtzs_w_s_8(rs32(), rfpcr()); t_fcvtzs_x_d_32(rd64(), rfpcr()); t_fcvtzu_w_d_32(rd64(), rfpcr()); t_fcvtzu_x_s_64(rs32(), rfpcr()); t_fcvtzs_x_s_1(rs32(), rfpcr()); t_fcvtzu_w_s_16(rs32(), rfpcr()); }
#define ALLI2F(op) for (int i = 0; i < N; i++) { t_##op##_s_w(ri64(), rfpcr()); t_##op##_s_x(ri64(), rfpcr()); t_##op##_d_w(ri64(), rfpcr()); t_##op##_d_x(ri64(), rfpcr()); } \
  for (unsigned k = 0; k < 4; k++) for (unsigned i = 0; i < NI; i++) { t_##op##_s_w(ispec[i], fpcrs[k]); t_##op##_s_x(ispec[i], fpcrs[k]); t_##op##_d_w(ispec[i], fpcrs[k]); t_##op##_d_x(ispec[i], fpcrs[k]); }
  ALLI2F(scvtf) ALLI2F(ucvtf)
  for (int i = 0; i < N; i++) { t_scvtf_s_w_3(ri64(), rfpcr()); t_ucvtf_d_x_64(ri64(), rfpcr()); t_scvtf_d_x_20(ri64(), rfpcr()); t_ucvtf_s_w_32(ri64(), rfpcr()); }
  return 0;
}

"""Python interpreter workload for scripts/bench: pure-Python loops, dicts,
string operations, classes and sorting. Deterministic output (run with
PYTHONHASHSEED=0 by the harness; nothing depends on hash order anyway).
Usage: python3 bench.py [scale]   (scale 100 = default work)"""
import sys


def lcg(seed):
    x = seed
    while True:
        x = (x * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
        yield x >> 33


SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vu", "xe", "zo", "an", "el", "or", "ix"]


def words(n, seed):
    g = lcg(seed)
    out = []
    for _ in range(n):
        k = 1 + next(g) % 4
        out.append("".join(SYLLABLES[next(g) % len(SYLLABLES)] for _ in range(k)))
    return out


class Vec:
    __slots__ = ("x", "y")

    def __init__(self, x, y):
        self.x, self.y = x, y

    def add(self, o):
        return Vec(self.x + o.x, self.y + o.y)

    def dot(self, o):
        return self.x * o.x + self.y * o.y


def main(scale):
    n = 2000 * scale
    ws = words(n, 12345)
    # dict counting and string building
    counts = {}
    for w in ws:
        counts[w] = counts.get(w, 0) + 1
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    print("distinct", len(counts), "top", top)
    text = " ".join(ws)
    up = text.upper().replace("KA", "Ka").split()
    print("upper", len(up), sum(len(u) for u in up), up[len(up) // 2])
    lines = ["%s:%d:%x" % (w, i, i * 7) for i, w in enumerate(ws[: n // 2])]
    joined = "\n".join(lines)
    print("lines", len(joined), joined.count("ka"), joined.find("zozo"))
    # integer loops: sieve and collatz
    lim = 300 * scale
    sieve = bytearray([1]) * (lim + 1)
    sieve[0] = sieve[1] = 0
    i = 2
    while i * i <= lim:
        if sieve[i]:
            sieve[i * i :: i] = bytearray(len(range(i * i, lim + 1, i)))
        i += 1
    print("primes", sum(sieve))
    best, steps_total = 0, 0
    for s in range(1, 100 * scale):
        x, c = s, 0
        while x != 1:
            x = x // 2 if x % 2 == 0 else 3 * x + 1
            c += 1
        steps_total += c
        best = max(best, c)
    print("collatz", best, steps_total)
    # objects and method calls
    acc = Vec(0, 0)
    d = 0
    for k in range(200 * scale):
        v = Vec(k % 7, k % 11)
        acc = acc.add(v)
        d += acc.dot(v) % 1000
    print("vec", acc.x, acc.y, d)
    # list comprehension, sort with key, big integers
    g = lcg(99)
    data = [next(g) % 100000 for _ in range(500 * scale)]
    data.sort(key=lambda v: (v % 1000, v))
    f = 1
    for k in range(2, 400 + scale):
        f *= k
    print("sort", data[:3], data[-3:], "fact digits", len(str(f)))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)

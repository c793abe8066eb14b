#!/usr/bin/env python3
# Regenerate objdump.txt: random words matching each FP decode row (and every FMOV
# immediate), disassembled by aarch64-linux-gnu-objdump. Run from any directory.
import os, re, random, subprocess, tempfile
here = os.path.dirname(os.path.abspath(__file__))
tmp = tempfile.mkdtemp()
random.seed(7)
src = open(os.path.join(here, '..', 'mod.rs')).read()
pats = re.findall(r'row\(\s*"([^"]+)",\s*"([01x ]+)"', src)
words = []
for name, p in pats:
    bits = p.replace(' ', '')
    assert len(bits) == 32, (name, p)
    n = 40 if 'immediate' not in name else 0
    for _ in range(n):
        w = 0
        for c in bits:
            w = (w << 1) | (int(c) if c != 'x' else random.getrandbits(1))
        words.append(w)
# every FMOV immediate
for imm in range(256):
    words.append(0x1e201000 | imm << 13 | random.getrandbits(5))
    words.append(0x1e601000 | imm << 13 | random.getrandbits(5))
words = sorted(set(words))
open(os.path.join(tmp, 'dis.s'), 'w').write(''.join('.inst 0x%08x\n' % w for w in words))
subprocess.check_call(['aarch64-linux-gnu-as', os.path.join(tmp, 'dis.s'), '-o', os.path.join(tmp, 'dis.o')])
out = subprocess.check_output(['aarch64-linux-gnu-objdump', '-d', os.path.join(tmp, 'dis.o')]).decode()
lines = []
for l in out.splitlines():
    m = re.match(r'\s*[0-9a-f]+:\s+([0-9a-f]{8})\s+(.*)$', l)
    if not m: continue
    text = m.group(2).split('//')[0].strip().replace('\t', ' ')
    lines.append('%s %s' % (m.group(1), text))
open(os.path.join(here, 'objdump.txt'), 'w').write(
    '# aarch64-linux-gnu-objdump -d of random words matching each row (see testdata/README)\n' + '\n'.join(lines) + '\n')
print(len(lines))

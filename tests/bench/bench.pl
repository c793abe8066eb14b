# Perl interpreter workload for scripts/bench: hashes, regular expressions,
# string building, sort and integer loops. Output is independent of hash order.
# Usage: perl bench.pl [scale]   (scale 100 = default work)
use strict;
use warnings;

my $scale = $ARGV[0] // 100;
my $seed = 12345;
# LCG; the low bits of a power-of-two LCG are weak, so return the high ones.
sub rnd { $seed = ($seed * 1103515245 + 12345) % 2147483648; return $seed >> 8; }

my @syl = qw(ka lo mi ne ru sa to vu xe zo an el or ix);
my @words;
for my $i (1 .. 1500 * $scale) {
    my $k = 1 + rnd() % 4;
    push @words, join('', map { $syl[rnd() % @syl] } 1 .. $k);
}

my %count;
$count{$_}++ for @words;
my @top = (sort { $count{$b} <=> $count{$a} or $a cmp $b } keys %count)[0 .. 2];
print "distinct ", scalar(keys %count), " top @top $count{$top[0]}\n";

my $text = join(' ', @words[0 .. 400 * $scale - 1]);
my $n_ka = () = $text =~ /\bka\w*/g;
(my $t2 = $text) =~ s/(zo|xe)(\w)/\U$1\E$2/g;
my @fields = map { sprintf("%s:%d:%x", $words[$_], $_, $_ * 7) } 0 .. 300 * $scale;
my $joined = join("\n", @fields);
my $m = 0;
$m++ while $joined =~ /^(\w+):(\d+)7:/mg;
print "regex $n_ka ", length($t2), " ", length($joined), " $m\n";

my ($best, $total) = (0, 0);
for my $s (1 .. 40 * $scale) {
    my ($x, $c) = ($s, 0);
    while ($x != 1) { $x = $x % 2 ? 3 * $x + 1 : $x >> 1; $c++; }
    $total += $c;
    $best = $c if $c > $best;
}
print "collatz $best $total\n";

my @data = map { rnd() % 100000 } 1 .. 300 * $scale;
my @sorted = sort { $a <=> $b } @data;
my %seen;
my @uniq = grep { !$seen{$_}++ } @sorted;
print "sort $sorted[0] $sorted[$#sorted / 2] $sorted[-1] ", scalar(@uniq), "\n";

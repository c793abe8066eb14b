# scripts/lib/common.sh — helpers shared by scripts/install, mkimage, mkrootfs and
# e2e-chroot. Sourced, not run. Each script sets PROG (its name, for messages) first.
#
# Provides: say/warn/die (one-line messages, die exits 1), need_root, ensure_packages
# (apt-get install when missing and root, else print the command), the aarch64
# binfmt_misc magic/mask, binfmt_register_line/binfmt_remove (raw entries, for qemu),
# arm64_binfmt_entries (which enabled entries take arm64 programs), ferrite_is_static,
# mounts_under/unmount_under (mount points below a directory, deepest first), and
# mirror_from_apt (the Debian mirror this machine's apt uses).

say()  { printf '%s: %s\n' "$PROG" "$*"; }
warn() { printf '%s: warning: %s\n' "$PROG" "$*" >&2; }
die()  { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }

# The repository root (scripts/lib/..).
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

BINFMT_DIR=/proc/sys/fs/binfmt_misc
# The values qemu and Debian use (see binfmt/README.md and src/linux/binfmt.rs).
AARCH64_MAGIC='\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00'
AARCH64_MASK='\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff'

need_root() {
    [ "$(id -u)" -eq 0 ] || die "$1 needs root (try: sudo $0 ...)"
}

is_installed() {
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = "installed" ]
}

# ensure_packages CMD:PKG ...: each CMD must be on PATH (or in /usr/sbin, /sbin); else
# PKG is installed with apt-get when root, or the script says what to install and exits.
ensure_packages() {
    local spec cmd pkg missing=()
    for spec in "$@"; do
        cmd="${spec%%:*}"; pkg="${spec#*:}"
        if ! PATH="$PATH:/usr/sbin:/sbin" command -v "$cmd" >/dev/null 2>&1; then
            missing+=("$pkg")
        fi
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        die "missing ${missing[*]}; install it first: sudo apt-get install -y ${missing[*]}"
    fi
    say "installing ${missing[*]} with apt-get"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get update >/dev/null \
            && DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >/dev/null \
            || die "apt-get install ${missing[*]} failed"
    fi
}

# ferrite_is_static BINARY: 0 when `file` calls it static and it has no PT_INTERP.
ferrite_is_static() {
    local out
    out="$(file -L "$1" 2>/dev/null)" || return 1
    case "$out" in
        *"static-pie linked"* | *"statically linked"*) ;;
        *) return 1 ;;
    esac
    if command -v readelf >/dev/null 2>&1; then
        ! LC_ALL=C readelf -lW "$1" 2>/dev/null | grep -q '^ *INTERP '
    fi
}

binfmt_available() {
    if [ ! -e "$BINFMT_DIR/register" ]; then
        mount -t binfmt_misc binfmt_misc "$BINFMT_DIR" 2>/dev/null || true
    fi
    [ -e "$BINFMT_DIR/register" ] && [ "$(cat "$BINFMT_DIR/status" 2>/dev/null)" = enabled ]
}

# binfmt_register_line NAME INTERPRETER FLAGS: a raw aarch64 entry (used for qemu).
binfmt_register_line() {
    printf ':%s:M::%s:%s:%s:%s' "$1" "$AARCH64_MAGIC" "$AARCH64_MASK" "$2" "$3" \
        > "$BINFMT_DIR/register"
}

binfmt_remove() {
    if [ -e "$BINFMT_DIR/$1" ]; then
        echo -1 > "$BINFMT_DIR/$1" 2>/dev/null || return 1
    fi
    return 0
}

# arm64_binfmt_entries: "NAME STATE INTERPRETER" for every entry whose magic/mask
# accepts an aarch64 ELF executable (the kernel uses the one registered last).
arm64_binfmt_entries() {
    local f name state interp magic mask
    for f in "$BINFMT_DIR"/*; do
        name="${f##*/}"
        case "$name" in register | status) continue ;; esac
        [ -r "$f" ] || continue
        state="$(sed -n '1p' "$f")"
        interp="$(sed -n 's/^interpreter //p' "$f")"
        magic="$(sed -n 's/^magic //p' "$f")"
        mask="$(sed -n 's/^mask //p' "$f")"
        grep -q '^offset 0$' "$f" || continue
        [ -n "$magic" ] || continue
        if magic_accepts_aarch64 "$magic" "$mask"; then
            printf '%s %s %s\n' "$name" "$state" "$interp"
        fi
    done
}

# magic_accepts_aarch64 HEXMAGIC HEXMASK: does a typical arm64 ET_DYN header match?
magic_accepts_aarch64() {
    local magic="$1" mask="$2" i m k h
    # e_ident (16 bytes) + e_type ET_DYN (03 00) + e_machine EM_AARCH64 (b7 00)
    local hdr=7f454c4602010100000000000000000003 hdr2
    hdr2="${hdr}00b700"
    for ((i = 0; i < ${#magic}; i += 2)); do
        m=$((16#${magic:i:2}))
        if [ -n "$mask" ]; then k=$((16#${mask:i:2})); else k=255; fi
        [ "$i" -lt "${#hdr2}" ] || return 1
        h=$((16#${hdr2:i:2}))
        [ $((h & k)) -eq $((m & k)) ] || return 1
    done
    return 0
}

# mounts_under DIR: mount points at or below DIR, deepest first.
mounts_under() {
    local dir
    dir="$(realpath -m "$1")"
    awk -v d="$dir" '{
        mp = $5; gsub(/\\040/, " ", mp)
        if (mp == d || index(mp, d "/") == 1) print length(mp) "\t" mp
    }' /proc/self/mountinfo | sort -rn | cut -f2-
}

# unmount_under DIR: unmount everything at or below DIR (lazily if busy). 0 when none is left.
unmount_under() {
    local mp
    while IFS= read -r mp; do
        [ -n "$mp" ] || continue
        umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null || warn "could not unmount $mp"
    done < <(mounts_under "$1")
    [ -z "$(mounts_under "$1")" ]
}

# mirror_from_apt: the first deb.debian.org-style Debian mirror in apt's sources
# (deb822 .sources or one-line sources.list), else http://deb.debian.org/debian.
mirror_from_apt() {
    local f uri
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -r "$f" ] || continue
        uri="$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }' "$f")"
        [ -n "$uri" ] && { printf '%s\n' "${uri%/}"; return; }
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -r "$f" ] || continue
        uri="$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\// && $i ~ /\/debian\/?$/) { print $i; exit } }' "$f")"
        [ -n "$uri" ] && { printf '%s\n' "${uri%/}"; return; }
    done
    echo http://deb.debian.org/debian
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

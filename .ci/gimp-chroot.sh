#!/usr/bin/env bash
# A Debian 13 (trixie) chroot with GIMP 3 and its Python, for the GIMP plug-in tests (tests/test_gimp_*.py):
# Debian 12 has no GIMP 3. Builds into $RETEX_GIMP_CHROOT (default /var/cache/retex/gimp-trixie, outside the
# repository so a clean clone reuses it), or reuses what is there; extra packages named in $RETEX_GIMP_EXTRA are added
# to an existing chroot. Needs root and the network (deb.debian.org, or $RETEX_DEBIAN_MIRROR). A fresh build is about
# 40 s on an idle machine (3.5 min measured on a busy 2-core one); reusing is instant.
set -euo pipefail
T=${RETEX_GIMP_CHROOT:-/var/cache/retex/gimp-trixie}
MIRROR=${RETEX_DEBIAN_MIRROR:-http://deb.debian.org/debian}
PACKAGES="gimp python3 python3-gi gir1.2-gimp-3.0 python3-zmq ${RETEX_GIMP_EXTRA:-}"

unmount_all() {  # whatever is still mounted below $1 (a build cut short), so rm -rf never reaches the host's files
    local m
    for m in $(awk -v r="$1/" 'index($2, r) == 1 {print $2}' /proc/mounts | sort -r); do umount -l "$m"; done
}

in_chroot() {  # apt needs /proc; it is unmounted again whatever apt did
    local root=$1 rc=0
    shift
    mount -t proc proc "$root/proc"
    chroot "$root" env DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@" || rc=$?
    umount "$root/proc"
    return $rc
}

install_packages() {  # what was installed is recorded, so a changed list is noticed on the next run
    in_chroot "$1" sh -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends $PACKAGES \
        && apt-get clean" >"$1.log" 2>&1 || { tail -20 "$1.log"; exit 1; }
    echo "$PACKAGES" >"$1/etc/retex-packages"
    rm -f "$1.log"
}

if [ -x "$T/usr/bin/gimp-console-3.0" ]; then
    if [ "$(cat "$T/etc/retex-packages" 2>/dev/null)" != "$PACKAGES" ]; then
        unmount_all "$T"
        install_packages "$T"
    fi
    echo "GIMP chroot: $T (reused)"
    exit 0
fi

command -v debootstrap >/dev/null || {
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
}
# Built beside the target and moved into place at the end: an interrupted build never looks like a finished one.
B="$T.build"
unmount_all "$B"
rm -rf "$B"
mkdir -p "$(dirname "$T")"
debootstrap --variant=minbase trixie "$B" "$MIRROR" >"$B.log" 2>&1 || { tail -20 "$B.log"; exit 1; }
install_packages "$B"
unmount_all "$T"
rm -rf "$T"
mv "$B" "$T"
echo "GIMP chroot: $T (built: $(du -shx "$T" | cut -f1))"

#!/bin/sh
# GIMP's Python in the test chroot, for installer.py --gimp-python: host paths under the chroot become the same
# paths inside it (the installer passes the vendor folder it checks as an argument).
T=${RETEX_GIMP_CHROOT:-/var/cache/retex/gimp-trixie}
for a do shift; set -- "$@" "${a#"$T"}"; done
exec chroot "$T" /usr/bin/python3 "$@"

#!/bin/sh
# Stands in for the backend's Python inside the GIMP chroot, which has no torch. The plug-in starts it as it would
# start "python -m backend serve ...": it leaves its arguments in the spool folder, where the test harness
# (tests/editors/gimp/harness.py) starts the real backend outside the chroot, relays that backend's output through a FIFO
# (the plug-in waits for its READY line) and exits with its status, so the plug-in sees the backend live and die.
set -e
spool=$RETEX_GIMP_SPOOL
id=$$
mkfifo "$spool/$id.out"
printf '%s\n' "$@" >"$spool/$id.part"
mv "$spool/$id.part" "$spool/$id.args"
cat "$spool/$id.out"
waited=0  # the status follows the end of the output at once, unless the harness itself died
while [ ! -e "$spool/$id.status" ] && [ $waited -lt 100 ]; do sleep 0.05; waited=$((waited + 1)); done
exit "$(cat "$spool/$id.status" 2>/dev/null || echo 1)"

"""GIMP 3 in a Debian 13 chroot; inside/ holds what runs in GIMP."""

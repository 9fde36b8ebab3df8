"""Code shared by the editor plug-ins and the backend: the wire protocol and the client (stdlib + pyzmq only).

Installed in an editor whose Python has no pyzmq, the installer unpacks a pyzmq wheel into ``vendor/`` beside this
package (install/vendor.py); it goes first on ``sys.path`` before anything here imports ``zmq``."""

import os
import sys

_VENDOR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "vendor")
if os.path.isdir(_VENDOR) and _VENDOR not in sys.path:
    sys.path.insert(0, _VENDOR)

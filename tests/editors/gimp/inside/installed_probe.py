# Run by gimp-console (python-fu-eval) in a HOME where installer.py installed Retex: GIMP registered the plug-in's
# procedures, and GIMP's Python imports the pyzmq the installer vendored. Raising makes GIMP exit with 64.
import os
import sys

for name in ("plug-in-retex-restore", "plug-in-retex-heal", "plug-in-retex-learn-style"):
    if not Gimp.get_pdb().procedure_exists(name):  # noqa: F821 (python-fu-eval's globals)
        raise RuntimeError(f"not registered: {name}")
vendor = os.path.join(os.environ["HOME"], ".config/GIMP/3.0/plug-ins/retex/vendor")
sys.path.insert(0, vendor)
import zmq  # noqa: E402

if not zmq.__file__.startswith(vendor):
    raise RuntimeError(f"zmq from {zmq.__file__}, not from {vendor}")
print("RETEX-INSTALLED-OK", zmq.__file__, zmq.zmq_version())

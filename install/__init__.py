"""The pieces of ``installer.py``: the backend's environment, the editors, the plug-in copies, pyzmq for the
editors' Pythons, the record of what was installed, and the demo. Standard library only: it runs on the system
Python before the virtual environment exists."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class InstallError(Exception):
    """An expected failure (bad folder, missing tool, no network): its message is one line saying what to do."""

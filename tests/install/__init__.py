"""installer.py against scratch homes and the real editors."""

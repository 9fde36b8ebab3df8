"""The plug-ins inside the real editors."""

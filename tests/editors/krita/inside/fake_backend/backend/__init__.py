"""A stand-in backend that speaks protocol version 2, so the plug-in's answer to a version mismatch can be tested."""

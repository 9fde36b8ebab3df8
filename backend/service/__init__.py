"""The ZeroMQ service: the only way the editors reach the networks."""

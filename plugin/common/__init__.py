"""Code shared by the editor plug-ins and the backend: the wire protocol and the client (stdlib + pyzmq only)."""

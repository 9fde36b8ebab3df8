"""plugin/common without an editor: protocol, session, the shared flow through a fake host."""

"""How long a backend an editor started lives: until its editor's process is gone (``serve --exit-with``), and no
longer than ``IDLE_EXIT_MINUTES`` unused (``serve --idle-exit``); the next run starts a new one. Both editors use this
one rule; a user who wants another idle time puts ``--idle-exit MINUTES`` (0: never) in the settings' ``args``."""

from __future__ import annotations

import dataclasses

from .config import BackendConfig

IDLE_EXIT_MINUTES = 30


def owned_by(config: BackendConfig, editor_pid: int) -> BackendConfig:
    """``config`` with the serve arguments that tie a backend to the editor process ``editor_pid``."""
    args = list(config.args)
    if "--idle-exit" not in args:
        args += ["--idle-exit", str(IDLE_EXIT_MINUTES)]
    if "--exit-with" not in args:
        args += ["--exit-with", str(editor_pid)]
    return dataclasses.replace(config, args=args)

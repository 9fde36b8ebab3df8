"""``python -m backend keys``: the CURVE keys for a backend on a GPU machine that the editors on other machines use.

Run on the GPU machine. It makes the server's key pair once (later runs keep it, so earlier clients keep working) and
a new client key pair each run, allows that client (its public key goes into the server's ``clients`` folder), and
prints the two things a user needs: the ``serve`` command for this machine, and one connection line to paste into
an editor's backend settings (``plugin/common/remote.py``: address, server key, client key). Only the client's
public key stays here: its secret key is printed once, for the editor. Every file is written for this user alone.
"""

from __future__ import annotations

import argparse
import os
import shlex
import socket
from pathlib import Path
from typing import Any

from plugin.common.config import config_dir, private_dir
from plugin.common.remote import BadConnection, Remote, check_address

from ..errors import RetexError
from ..files import atomic_write

DEFAULT_PORT = 5555


def add_parser(sub: Any) -> None:
    p = sub.add_parser("keys", help="make CURVE keys for a backend the editors reach from other machines")
    p.add_argument("--out", help="folder for the keys (default: ~/.config/retex/remote)")
    p.add_argument("--host", help="this machine's name or address as the editors reach it (default: its host name)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"the port serve listens on (default {DEFAULT_PORT})")
    p.add_argument("--client", help="a name for the new client key, e.g. the editor machine's (default: client-N)")
    p.set_defaults(func=run)


def certificate(public: bytes, secret: bytes | None = None) -> str:
    """A key file as ``zmq.auth.load_certificate`` (and so ``serve``) reads it."""
    lines = ["#   ZeroMQ CURVE certificate, made by python -m backend keys", "metadata", "curve"]
    lines.append(f'    public-key = "{public.decode()}"')
    if secret is not None:
        lines.append(f'    secret-key = "{secret.decode()}"')
    return "\n".join(lines) + "\n"


def write_private(path: Path, text: str) -> None:
    """Atomically, and readable by this user alone from the first byte."""

    def write(tmp: Path) -> None:
        os.chmod(tmp, 0o600)
        tmp.write_text(text, encoding="utf-8")

    atomic_write(path, write)


def next_client(clients: Path) -> str:
    return next(f"client-{n}" for n in range(1, 10_000) if not (clients / f"client-{n}.key").exists())


def run(args: argparse.Namespace) -> None:
    import zmq
    from zmq.auth import load_certificate

    folder = Path(args.out) if args.out else config_dir() / "remote"
    if args.client is not None and (not args.client or Path(args.client).name != args.client or args.client[0] == "."):
        raise RetexError(f"--client '{args.client}' is not a plain name (letters, digits, - or _)")
    try:
        address = check_address(f"tcp://{args.host or socket.gethostname()}:{args.port}")
    except BadConnection as e:
        raise RetexError(f"--host and --port make no address the editors can use: {e}") from None
    try:
        clients = private_dir(private_dir(folder) / "clients")
        public, secret = folder / "server.key", folder / "server.key_secret"
        if not secret.exists():
            server_public, server_secret = zmq.curve_keypair()
            write_private(public, certificate(server_public))
            write_private(secret, certificate(server_public, server_secret))
        server_public = load_certificate(secret)[0]
        name = args.client or next_client(clients)
        allowed = clients / f"{name}.key"
        if allowed.exists():
            raise RetexError(f"{allowed} exists: choose another --client name, or delete it to shut that client out")
        client_public, client_secret = zmq.curve_keypair()
        write_private(allowed, certificate(client_public))
    except (OSError, ValueError) as e:
        raise RetexError(f"cannot write the keys in {folder}: {e}") from None
    line = Remote(address, server_public.decode(), client_secret.decode()).line
    serve = ["python", "-m", "backend", "serve", "--endpoint", f"tcp://0.0.0.0:{args.port}"]
    serve += ["--curve-secret", str(secret), "--curve-clients", str(clients)]
    print(f"Keys in {folder}: the server's, and {name}'s public key in {clients}.")
    print()
    print("1. On this machine, start the backend (in the Retex folder, its .venv active):")
    print(f"   {shlex.join(serve)}")
    print()
    print("2. In the editor, open Retex's backend settings (Krita: the Retex docker, Backend settings; GIMP:")
    print("   Filters > Enhance > Retex: Backend Settings), choose Remote and paste this connection line:")
    print(f"   {line}")
    print()
    print(f"The line holds {name}'s secret key: keep it as you would a password; it is not stored here. If the")
    print(f"editors reach this machine by another name, change {args.host or socket.gethostname()} in the line.")
    print("Another editor machine: run this command again for its own line. To shut a client out, delete its")
    print(f"file in {clients}. serve reads that folder when it starts: restart it after either.")

"""``python -m backend serve``: run the backend service (prints ``READY <endpoint>`` once it accepts work)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..paths import WEIGHTS_DIR
from .common import device_arg, runtime_arg


def add_parser(sub: Any) -> None:
    p = sub.add_parser("serve", help="run the backend service (prints READY <endpoint> once it accepts work)")
    p.add_argument("--endpoint", help="ipc://PATH or tcp://HOST:PORT (default: a private ipc socket)")
    device_arg(p)
    p.add_argument(
        "--token-file", help="loopback tcp and ipc://@ endpoints: token file (default: ~/.config/retex/token, created)"
    )
    p.add_argument("--curve-secret", help="non-loopback endpoints: the server's CURVE secret key file")
    p.add_argument("--curve-clients", help="non-loopback endpoints: folder of authorized client public keys")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: all)")
    p.add_argument("--weights-dir", help="folder of TASK.safetensors files (default: weights/)")
    p.add_argument(
        "--idle-exit",
        type=float,
        default=0.0,
        metavar="MINUTES",
        help="exit after this many minutes without a request or job (0: never); editors start it with 30",
    )
    p.add_argument(
        "--exit-with",
        type=int,
        default=0,
        metavar="PID",
        help="exit once process PID is gone (the editors pass their own, so no backend outlives its editor)",
    )
    runtime_arg(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from ..service.security import default_endpoint, load_or_create_token, needs_token
    from ..service.server import Server, ServerConfig

    endpoint = args.endpoint or default_endpoint()
    token = None
    if needs_token(endpoint):
        token = load_or_create_token(Path(args.token_file) if args.token_file else None)
    config = ServerConfig(
        endpoint=endpoint,
        device=args.device,
        token=token,
        threads=args.threads,
        curve_secret=Path(args.curve_secret) if args.curve_secret else None,
        curve_clients=Path(args.curve_clients) if args.curve_clients else None,
        weights_dir=Path(args.weights_dir) if args.weights_dir else WEIGHTS_DIR,
        idle_exit_s=60 * args.idle_exit,
        exit_with=args.exit_with,
        runtime=args.runtime,
    )
    Server(config).serve(ready=lambda ep: print(f"READY {ep}", flush=True))

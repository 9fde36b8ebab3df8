"""How a blocking host reaches its backend: GIMP's plug-in, whose UI lives in another process, in plain blocking
calls over the same core as Krita's polling session (``exchange``: one reader of replies, one ``hello`` check).

GIMP starts the plug-in afresh for every run and ends it afterwards, so the backend started here outlives the run: a
cold start imports torch and loads every network, and the next run finds the backend again through a small state
file (the endpoint it announced). A backend that dies mid-job is noticed within a second or two: once a job has
been quiet for a second, the link checks that something still listens at the backend's address. GIMP's Cancel
kills the plug-in outright (SIGKILL); the backend then stops the job itself, as it stops the work of any client
that has gone away.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .config import BackendConfig, config_path, default_endpoint, write_json
from .launcher import BackendProcess, LaunchError, log_dir
from .lifetime import owned_by
from .messages import plain
from .protocol import Frame, ProtocolError
from .remote import REMOTE_TIMEOUT_S, BadConnection, Remote, no_answer, words
from .replies import Info, Reply
from .requests import HelloRequest, Request, request_of

try:  # pyzmq is not part of every GIMP's Python: say so instead of failing to register
    import zmq
    from zmq.utils.monitor import recv_monitor_message

    from .client import BackendError, BackendUnavailable, Client
    from .exchange import Exchange, Job, check_info
    from .session import SILENCE_TIMEOUT_S, token_for
except ImportError as _missing:
    MISSING = (
        f"GIMP's Python cannot load what Retex needs ({_missing}). On Debian or Ubuntu: sudo apt install python3-zmq; "
        "elsewhere see the Retex README."
    )
else:
    MISSING = ""

HOST = "gimp"
PROBE_TIMEOUT_S = 1.0  # to see whether anything listens at the backend's address
ALIVE_CHECK_S = 1.0  # a job this long without news: check that its backend still listens
HELLO_TIMEOUT_S = 30.0  # for a listening backend to answer hello (it answers while it runs a job)
STOP_TIMEOUT_S = 10.0  # for a backend told to shut down to stop listening
PROGRESS = Callable[[float, str], None]


class LinkError(Exception):
    """The backend could not be reached or failed the job; the message says why in plain words."""


def _state_path() -> Path:
    return log_dir() / f"{HOST}-backend.json"


def _listening(endpoint: str, timeout_s: float) -> bool:
    """Whether anything accepts connections at ``endpoint``: a hello to a backend that died would wait out its whole
    timeout, while a refused connection shows at once. (A process id cannot tell: a dead backend whose parent, an
    earlier plug-in run, is gone may linger as a zombie where nothing reaps orphans.)"""
    sock: zmq.Socket = zmq.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    monitor = sock.get_monitor_socket(zmq.EVENT_CONNECTED | zmq.EVENT_CONNECT_RETRIED)
    try:
        sock.connect(endpoint)
        return (
            bool(monitor.poll(int(timeout_s * 1000))) and recv_monitor_message(monitor)["event"] == zmq.EVENT_CONNECTED
        )
    finally:
        sock.disable_monitor()
        monitor.close(linger=0)
        sock.close(linger=0)


class Link:
    """One connection to a backend that answered ``hello`` with this plug-in's protocol version."""

    def __init__(self, client: Client, info: Info, log: Path, remote: bool = False) -> None:
        self.client, self.info, self.log, self.remote = client, info, log, remote
        self.exchange = Exchange(client)
        self.styles: dict[str, str] = {s.name: s.scale for s in info.styles}
        self.tasks: list[str] = list(info.tasks)

    @classmethod
    def open(cls, config: BackendConfig, on_wait: Callable[[str], None]) -> Link:
        """The backend this plug-in started before if it still answers, else a new one (waiting for READY)."""
        try:
            return cls._open(config, on_wait)
        except zmq.ZMQError as e:  # e.g. an endpoint ZeroMQ cannot use
            raise LinkError(f"Retex cannot talk to its backend ({e}). Check the endpoint in {config_path()}.") from None
        except OSError as e:  # the socket's or the log's folder cannot be made
            raise LinkError(f"Retex could not prepare its backend: {e}.") from None

    @classmethod
    def _open(cls, config: BackendConfig, on_wait: Callable[[str], None]) -> Link:
        try:
            remote = config.remote_backend()
        except BadConnection as e:
            raise LinkError(str(e)) from None
        if remote is not None:  # another machine's backend: nothing to start here
            return cls._remote(remote)
        configured = config.endpoint or default_endpoint(HOST)
        try:
            state = json.loads(_state_path().read_text(encoding="utf-8"))
        except (OSError, ValueError):
            state = {}
        # Where the backend this configuration last started announced itself, else the configured address itself
        # (e.g. a backend the user started by hand); a wildcard port is only known once a backend announced it.
        if isinstance(state, dict) and state.get("configured") == configured and state.get("endpoint"):
            known = str(state["endpoint"])
        else:
            known = "" if "*" in configured else configured
        log = log_dir() / f"{HOST}-backend.log"
        if known and _listening(known, PROBE_TIMEOUT_S):
            link = cls._hello(known, HELLO_TIMEOUT_S, log)
            if link is not None:
                return link
        on_wait("Starting the Retex backend (the first run takes a few seconds)…")
        # GIMP runs a plug-in per click, so the backend outlives each run: it is tied to GIMP, this run's parent
        config = owned_by(config, os.getppid())
        proc = BackendProcess(config, configured, log)
        try:
            proc.start()
            endpoint = proc.wait_ready(str(config_path()))
        except LaunchError as e:
            raise LinkError(f"{e} (They are in {config_path()}.)" if proc.proc is None else str(e)) from None
        _save_state(configured, endpoint)
        link = cls._hello(endpoint, HELLO_TIMEOUT_S, log)
        if link is None:
            raise LinkError(f"The Retex backend started but does not answer. See {log}.")
        return link

    @classmethod
    def _remote(cls, remote: Remote) -> Link:
        """A link to a backend on another machine, over CURVE; a LinkError saying what to check if none answers
        or it refuses this plug-in's keys."""
        if not _listening(remote.address, REMOTE_TIMEOUT_S):
            raise LinkError(no_answer(remote.address))
        client = Client(remote.address, timeout_s=REMOTE_TIMEOUT_S, curve=remote.curve())
        try:
            info = check_info(client.request(HelloRequest()))
        except BackendUnavailable:
            client.close()
            raise LinkError(no_answer(remote.address, REMOTE_TIMEOUT_S)) from None
        except BackendError as e:
            client.close()
            raise LinkError(words(e.code, e.message, remote.address)) from None
        client.timeout_s = SILENCE_TIMEOUT_S
        return cls(client, info, log_dir() / f"{HOST}-remote.log", remote=True)  # its log is on its machine

    @classmethod
    def _hello(cls, endpoint: str, timeout_s: float, log: Path) -> Link | None:
        """A link if a backend answers at ``endpoint`` within ``timeout_s``; None if none does."""
        client = Client(endpoint, token=token_for(endpoint), timeout_s=timeout_s)
        try:
            info = check_info(client.request(HelloRequest()))
        except BackendUnavailable:
            client.close()
            return None
        except BackendError as e:  # e.g. a reply in another protocol version
            client.close()
            raise LinkError(plain(e.code, e.message)) from None
        client.timeout_s = SILENCE_TIMEOUT_S
        return cls(client, info, log)

    def run_to_end(
        self,
        request: Request | str,
        fields: dict[str, Any] | None = None,
        frames: list[Frame] | None = None,
        on_progress: PROGRESS | None = None,
        cancel: Callable[[], bool] | None = None,
        on_swatch: Callable[[Frame], None] | None = None,
        finish: Callable[[], bool] | None = None,
    ) -> Reply:
        """Send one request (typed, or a type with its fields and frames) and wait for its result, reporting
        progress. If this process dies first (GIMP's Cancel), the backend stops the job; a backend that dies or
        falls silent ends it with a LinkError. ``cancel`` is asked ten times a second while the job runs (a dialog
        handles its events then); True stops the job, which ends with the cancelled message. A learning job's
        swatches go to ``on_swatch``; once one came, ``finish`` is asked too: True ends it, keeping the style."""
        try:
            if isinstance(request, str):
                request = request_of(request, fields or {}, frames or [])
        except ProtocolError as e:  # what the backend would refuse, refused here
            raise LinkError(plain(e.code, e.message)) from None
        report = on_progress or (lambda fraction, stage: None)
        job = Job(request, on_progress=lambda fraction, stage, eta: report(fraction, stage), on_swatch=on_swatch)
        checked = [time.monotonic()]

        def watch(quiet_s: float) -> None:
            # Quiet for a second: does anything still listen? A backend that died refuses the connection at once.
            # (Not a disconnect monitor: the client's socket has one, for refused handshakes, and takes no other.)
            if min(quiet_s, time.monotonic() - checked[0]) > ALIVE_CHECK_S:
                checked[0] = time.monotonic()
                if not _listening(self.client.endpoint, PROBE_TIMEOUT_S):
                    if self.remote:  # nothing to start here: the user's backend on the other machine has to be
                        raise LinkError(
                            f"The Retex backend at {self.client.endpoint} stopped answering during the job. Nothing "
                            "was changed; check that 'python -m backend serve' still runs there."
                        )
                    words = BackendProcess(BackendConfig(), "", self.log).last_words()
                    raise LinkError(
                        "The Retex backend stopped during the job"
                        f"{' (' + words + ')' if words else ''}. Nothing was changed; it starts again on the next run."
                    )

        try:
            return self.exchange.run_to_end(job, SILENCE_TIMEOUT_S, cancel, watch, finish)
        except BackendUnavailable:
            raise LinkError(f"The Retex backend has not answered for {SILENCE_TIMEOUT_S:.0f} s. Try again.") from None
        except BackendError as e:
            raise LinkError(plain(e.code, e.message)) from None

    def stop(self) -> None:
        """Shut this backend down and wait until it no longer listens, so that the next ``open`` starts a new one on
        the settings as they are now (the training support just added)."""
        endpoint = self.client.endpoint
        try:
            self.client.shutdown()
        except (BackendError, BackendUnavailable):
            pass  # gone already
        self.close()
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while _listening(endpoint, PROBE_TIMEOUT_S) and time.monotonic() < deadline:
            time.sleep(0.1)

    def close(self) -> None:
        self.client.close()


def _save_state(configured: str, endpoint: str) -> None:
    write_json(_state_path(), {"configured": configured, "endpoint": endpoint})

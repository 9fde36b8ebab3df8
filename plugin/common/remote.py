"""A backend on another machine (a GPU box), as the editors' "Remote" backend setting holds it: the one connection
line ``python -m backend keys`` prints there, ``tcp://HOST:PORT SERVER_KEY CLIENT_KEY`` (the address, the server's
public key, this client's secret key; CURVE keys in Z85). One line, so a user copies once and cannot swap or half-
paste the keys; the client's public key follows from its secret. Also the words for what goes wrong with such a
backend, which say what to do on which machine. Standard library only (pyzmq only to derive the public key).
"""

from __future__ import annotations

from dataclasses import dataclass

from .messages import plain
from .protocol import VERSION, ErrorCode

Z85 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"
KEY_CHARS = 40  # a 32-byte CURVE key in Z85
REMOTE_TIMEOUT_S = 10.0  # for a remote backend to accept the connection and answer hello
EXAMPLE = "tcp://gpu-box:5555 SERVER_KEY CLIENT_KEY"


class BadConnection(ValueError):
    """A connection line the user must correct; the message says which part and how."""


def check_address(address: str) -> str:
    host, _, port = address.removeprefix("tcp://").rpartition(":")
    bad_host = not host.strip("[]") or any(c.isspace() or c in "/*" for c in host)
    if not address.startswith("tcp://") or bad_host or not port.isdigit() or not 0 < int(port) < 65536:
        raise BadConnection(f"The address must be tcp://HOST:PORT, e.g. tcp://gpu-box:5555; '{address}' is not.")
    return address


def check_key(key: str, which: str) -> str:
    if len(key) != KEY_CHARS or any(c not in Z85 for c in key):
        odd = "".join(sorted({c for c in key if c not in Z85}))
        raise BadConnection(
            f"The {which} must be {KEY_CHARS} characters (letters, digits and .-:+=^!/*?&<>()[]{{}}@%$#), as "
            f"'python -m backend keys' prints it; this one has {len(key)}" + (f" and '{odd}' in it." if odd else ".")
        )
    return key


@dataclass(frozen=True)
class Remote:
    address: str  # tcp://HOST:PORT
    server_key: str  # the server's public key
    client_key: str  # this client's secret key

    @classmethod
    def parse(cls, line: str) -> Remote:
        """The connection line checked part by part (BadConnection says what is wrong)."""
        parts = line.split()
        if len(parts) != 3:
            raise BadConnection(
                f"The connection line has three parts separated by spaces, {EXAMPLE}, as 'python -m backend keys' "
                f"prints it on the GPU machine; this one has {len(parts)}."
            )
        address, server, client = parts
        return cls(check_address(address), check_key(server, "server key"), check_key(client, "client key"))

    @property
    def line(self) -> str:
        return f"{self.address} {self.server_key} {self.client_key}"

    def curve(self) -> tuple[bytes, bytes, bytes]:
        """(client public, client secret, server public), as ``client.Client`` takes them."""
        import zmq

        secret = self.client_key.encode()
        return zmq.curve_public(secret), secret, self.server_key.encode()


def no_answer(address: str, waited_s: float | None = None) -> str:
    after = f" after {waited_s:.0f} s" if waited_s else ""
    return (
        f"No answer from {address}{after}: is 'python -m backend serve' running there, and its port open to this "
        "machine? Nothing was changed."
    )


def words(code: str, message: str, address: str) -> str:
    """A remote backend's refusal in plain words: what to do, and on which machine."""
    if code == ErrorCode.UNAUTHORIZED:
        return (
            f"The backend at {address} refused this plug-in's keys. Run 'python -m backend keys' on that machine "
            "and paste the line it prints into Retex's backend settings. Nothing was changed."
        )
    if code == ErrorCode.BAD_VERSION:
        return (
            f"The backend at {address} speaks another protocol version ({message or 'not ' + str(VERSION)}) than "
            f"this plug-in (version {VERSION}). Install the same Retex version on both machines."
        )
    return plain(code, message)

"""A third-party probe plugin, as a user would write one; the tests register it through its entry point.

Its backend, ``testdb``, is a TCP "database" whose client counts connections and facts, so the tests can prove
sharing (one connection per target, facts fetched once) and timeouts against a real socket."""

from __future__ import annotations

import socket
import threading
import time

from readiness.clients import TargetKind
from readiness.probe import Param, failed, not_applicable, passed, probe, undecided, unobservable

# The plugin's own backend: its targets-file section ("testdb:"), its settings, and this module as its client.
TARGET = TargetKind("testdb", {"host": Param("str", "127.0.0.1"), "port": Param("int"),
                               "password": Param("str", None)}, __name__)
NOT_A_KIND = "a broken entry point: reported, never fatal"


class Client:
    connects = 0
    lock = threading.Lock()

    def __init__(self, sock: socket.socket):
        self.busy = threading.Lock()
        self.sock = sock
        self.queries = 0

    def query(self, text: str) -> str:
        with self.busy:  # one request at a time on the one connection, like a real client
            self.queries += 1
            self.sock.sendall(text.encode() + b"\n")
            return self.sock.recv(1024).decode().strip()


def connect(config: dict, timeout: float) -> Client:
    with Client.lock:
        Client.connects += 1
    sock = socket.create_connection((config["host"], config["port"]), timeout=timeout)
    sock.settimeout(timeout)
    client = Client(sock)
    if client.query("HELLO") != "HELLO":  # a black hole times out here
        raise ConnectionError("bad greeting")
    return client


def close(client: Client) -> None:
    client.sock.close()


@probe("test.constant", target=None, params={"status": Param("str", choices=("pass", "fail", "error", "skipped")),
                                             "message": Param("str", "constant")})
def constant(ctx, p):
    """Return the verdict it is told to return."""
    return {"pass": passed, "fail": failed, "error": undecided, "skipped": not_applicable}[p["status"]](
        p["message"], item=ctx.item_id)


@probe("test.unobservable", target=None)
def invisible(ctx, p):
    """Declare the fact invisible to the probe (like disk usage to SQL)."""
    return unobservable("disk usage is not visible over SQL")


@probe("test.sleep", target=None, params={"seconds": Param("number")})
def sleep(ctx, p):
    """Wait, then pass."""
    time.sleep(p["seconds"])
    return passed(f"slept {p['seconds']}s")


@probe("test.raise", target=None, params={"message": Param("str", "boom")})
def boom(ctx, p):
    """Raise an exception."""
    raise RuntimeError(p["message"])


@probe("test.returns-none", target=None)
def returns_none(ctx, p):
    """Forget to return a verdict."""
    return None


@probe("test.echo", target="testdb", params={"expect": Param("expect")})
def echo(ctx, p):
    """Ask the testdb server for a fact shared by all items, judge it with a matcher."""
    value = ctx.fact("greeting", lambda client: client.query("VALUE"))
    return p["expect"].judge("value", value)


@probe("test.query", target="testdb", params={"expect": Param("expect")})
def query(ctx, p):
    """Send a query of its own (a fact per item), judge the answer."""
    return p["expect"].judge("value", ctx.fact(f"q:{ctx.item_id}", lambda client: client.query(ctx.item_id)))


@probe("test.secret", target="testdb")
def secret(ctx, p):
    """Echo the target's password in the message and evidence (the runner must blank it)."""
    pw = ctx.config()["password"]
    return failed(f"password is {pw}", dsn=f"postgresql://app:{pw}@db/x", nested={"pw": [pw]})


@probe("test.needs-kubernetes", target=None)
def needs_kubernetes(ctx, p):
    """Read a fact from a second target."""
    ctx.session("kubernetes")
    return passed("unreachable")


BARRIER: dict[int, threading.Barrier] = {}


@probe("test.barrier", target=None, params={"parties": Param("int")})
def barrier(ctx, p):
    """Pass only if ``parties`` items are running at the same moment (proves concurrency without timing)."""
    b = BARRIER.setdefault(p["parties"], threading.Barrier(p["parties"]))
    b.wait(timeout=ctx.remaining())
    return passed(f"{p['parties']} items ran together")

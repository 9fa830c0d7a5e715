"""Run the app: granian (default) or gunicorn in production, Flask's server with ``--dev``.

granian is the default by measurement (``benchmarks/serve.py``): with the same app it
answers ``GET /feed.xml`` about twice and 304s about six times as fast as gunicorn.
gunicorn stays available as ``--server gunicorn``, behind a buffering proxy only: its
threads read a request head and body with no deadline, so a few clients sending a byte a
second hold them all (README, "Slow clients"; ``examples/nginx-proxy.conf``).

Both servers are handed a listening socket bound here: without ``SO_REUSEPORT``, so no
other process can bind the port beside them (the servers' workers share this socket), and
with ``TCP_USER_TIMEOUT``, which accepted connections inherit, so the kernel cuts off a
client that leaves the response unread (``WRITE_TIMEOUT_MS``) and the memory it held goes.
"""

from __future__ import annotations

import errno
import functools
import logging
import multiprocessing
import socket
from typing import Any

from feedsvc.config import Settings
from feedsvc.errors import ListenError
from feedsvc.web import create_app

SERVERS = ("granian", "gunicorn")
BACKLOG = 1024
# A client that reads none of a response for this long is disconnected (the kernel's
# TCP_USER_TIMEOUT: unacknowledged or, with a zero window, unsent data). One that reads
# slowly but steadily is not: every acknowledgement restarts the count.
WRITE_TIMEOUT_MS = 20_000
# A request head must arrive whole within this time (granian; gunicorn has no such limit).
HEAD_TIMEOUT_MS = 10_000


def listen(host: str, port: int) -> socket.socket:
    """Return a socket listening on ``host``:``port`` that no other process can share.

    Raises ListenError (exit code 1), one line naming the address, when the port is
    taken, privileged or the address is not this machine's.
    """
    shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise ListenError(f"cannot listen on {shown}: {exc.strerror}") from None
    sock = socket.socket(family, kind, proto)
    try:
        # SO_REUSEADDR lets a restart bind while old connections linger in TIME_WAIT; it
        # never lets two listeners share a port (SO_REUSEPORT would, and is not set).
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if hasattr(socket, "TCP_USER_TIMEOUT"):  # Linux
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, WRITE_TIMEOUT_MS)
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        raise ListenError(_listen_failure(shown, exc)) from None
    sock.set_inheritable(True)
    return sock


def _listen_failure(shown: str, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return f"{shown} is already in use by another process; stop it or choose another --port"
    if exc.errno == errno.EACCES:
        return f"{shown}: permission denied (ports below 1024 need privileges)"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"{shown}: not an address of this machine"
    return f"cannot listen on {shown}: {exc.strerror}"


def run_granian(settings: Settings, listener: socket.socket, workers: int) -> None:
    """Serve with granian's WSGI interface on ``listener`` until interrupted."""
    from granian._granian import SocketHolder
    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings
    from granian.server import Server

    class ListenerServer(Server):  # type: ignore[misc,valid-type]
        """granian with our socket: its own would set SO_REUSEPORT in every worker."""

        def _init_shared_socket(self) -> None:
            self._ssp = None
            # (fd, is a Unix socket, backlog): granian 2.x; its stub omits them.
            self._shd = SocketHolder(listener.fileno(), False, BACKLOG)  # type: ignore[call-arg]
            self._sfd = listener.fileno()
            self._sso = listener

    # The workers inherit the socket by fork (a spawned worker could not unpickle it).
    multiprocessing.set_start_method("fork", force=True)
    host, port = listener.getsockname()[:2]
    server = ListenerServer(
        target="feedsvc.web:create_app",
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        workers=workers,
        blocking_threads=4,
        websockets=False,
        http=HTTPModes.http1,
        # A request head over 16 KiB (overlong URL or headers) is refused before the app;
        # a client that sends its head slowly is cut off after HEAD_TIMEOUT_MS.
        http1_settings=HTTP1Settings(max_buffer_size=16384, header_read_timeout=HEAD_TIMEOUT_MS),
        backlog=BACKLOG,
        respawn_failed_workers=True,
        # A worker that does not stop within 10 s of shutdown is killed, never orphaned.
        workers_kill_timeout=10,
    )
    # Each worker process builds its own app from these settings (a picklable loader).
    server.serve(target_loader=functools.partial(create_app, settings), wrap_loader=False)


def run_gunicorn(settings: Settings, listener: socket.socket, workers: int) -> None:
    """Serve with gunicorn's threaded workers on ``listener`` until interrupted."""
    logging.getLogger("feedsvc").warning(
        "gunicorn must run behind a buffering proxy such as nginx "
        "(examples/nginx-proxy.conf): a few slow clients can hold all its threads"
    )
    from gunicorn.app.base import BaseApplication

    class Application(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            options: dict[str, Any] = {
                "bind": f"fd://{listener.fileno()}",
                "workers": workers,
                "worker_class": "gthread",
                "threads": 4,
                "errorlog": "-",
                "proc_name": "feedsvc",
                # Overlong request lines and headers get a 4xx before the app sees them.
                "limit_request_line": 8190,
                "limit_request_fields": 100,
                "limit_request_field_size": 8190,
            }
            if "control_socket_disable" in self.cfg.settings:
                # gunicorn 27 shares one control socket path between all instances on a host.
                options["control_socket_disable"] = True
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return create_app(settings)  # in each worker, after the fork

    Application().run()


def run_production(settings: Settings, host: str, port: int, workers: int, server: str) -> None:
    """Serve with the named production server; raise ListenError if the port is taken."""
    runner = run_granian if server == "granian" else run_gunicorn
    runner(settings, listen(host, port), workers)


def run_dev(settings: Settings, host: str, port: int) -> None:
    """Serve with Flask's development server, reloading on code changes (never debug mode)."""
    create_app(settings).run(host=host, port=port, debug=False, use_reloader=True)

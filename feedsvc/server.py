"""Run the app: granian (default) or gunicorn in production, Flask's server with ``--dev``.

granian is the default by measurement (``benchmarks/serve.py``): with the same app it
answers ``GET /feed.xml`` about twice and 304s about six times as fast as gunicorn.
gunicorn stays available as ``--server gunicorn``.
"""

from __future__ import annotations

import functools
from typing import Any

from feedsvc.config import Settings
from feedsvc.web import create_app

SERVERS = ("granian", "gunicorn")


def run_granian(settings: Settings, host: str, port: int, workers: int) -> None:
    """Serve with granian's WSGI interface until interrupted."""
    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings
    from granian.server import Server

    server = Server(
        target="feedsvc.web:create_app",
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        workers=workers,
        blocking_threads=4,
        websockets=False,
        http=HTTPModes.http1,
        # A request head over 16 KiB (overlong URL or headers) is refused before the app;
        # a client that sends its head slowly is cut off after 10 s.
        http1_settings=HTTP1Settings(max_buffer_size=16384, header_read_timeout=10_000),
        respawn_failed_workers=True,
        # A worker that does not stop within 10 s of shutdown is killed, never orphaned.
        workers_kill_timeout=10,
    )
    # Each worker process builds its own app from these settings (a picklable loader).
    server.serve(target_loader=functools.partial(create_app, settings), wrap_loader=False)


def run_gunicorn(settings: Settings, host: str, port: int, workers: int) -> None:
    """Serve with gunicorn's threaded workers until interrupted."""
    from gunicorn.app.base import BaseApplication

    class Application(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            options: dict[str, Any] = {
                "bind": f"{host}:{port}",
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
    """Serve with the named production server."""
    runner = run_granian if server == "granian" else run_gunicorn
    runner(settings, host, port, workers)


def run_dev(settings: Settings, host: str, port: int) -> None:
    """Serve with Flask's development server, reloading on code changes (never debug mode)."""
    create_app(settings).run(host=host, port=port, debug=False, use_reloader=True)

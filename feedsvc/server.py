"""Run the app: gunicorn in production, Flask's development server with ``--dev``."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

from feedsvc.config import Settings
from feedsvc.web import create_app


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    """gunicorn with settings given in code, not read from its command line."""

    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        # Called in each worker after the fork, so each has its own watcher thread.
        return create_app(self.settings)


def run_production(settings: Settings, host: str, port: int, workers: int) -> None:
    """Serve with gunicorn until interrupted."""
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": 4,
        "accesslog": "-",
        "errorlog": "-",
        "proc_name": "feedsvc",
        # Request-line and header limits: overlong requests get 400/431, never reach Flask.
        "limit_request_line": 8190,
        "limit_request_fields": 100,
        "limit_request_field_size": 8190,
    }
    _Gunicorn(settings, options).run()


def run_dev(settings: Settings, host: str, port: int) -> None:
    """Serve with Flask's development server, reloading on code changes (never debug mode)."""
    create_app(settings).run(host=host, port=port, debug=False, use_reloader=True)

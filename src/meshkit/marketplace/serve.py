"""``mesh serve``: the marketplace site over HTTP, on the loopback address only."""

from __future__ import annotations

import functools
from collections.abc import Callable
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from meshkit.errors import ArtifactError, UsageError

HOST = "127.0.0.1"  # never another interface: the site describes every dataset of the mesh


class _Handler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: a terminal full of GET lines helps nobody

    def do_GET(self) -> None:
        if self._host_allowed():
            super().do_GET()

    def do_HEAD(self) -> None:
        if self._host_allowed():
            super().do_HEAD()

    def _host_allowed(self) -> bool:
        """Only a request addressed to this server by its loopback name. A web page the browser
        opened elsewhere can point a host name of its own at 127.0.0.1 (DNS rebinding) and then
        read the site as same-origin: its requests carry that name, and are refused."""
        address = self.server.server_address
        port = address[1] if isinstance(address, tuple) else None
        allowed = {f"{name}:{port}" for name in (HOST, "localhost")}
        if (self.headers.get("Host") or "").strip().lower() in allowed:
            return True
        self.send_error(403, "the marketplace answers to 127.0.0.1 and localhost only")
        return False

    def end_headers(self) -> None:
        # Nothing from elsewhere, no inline script: what the site needs is same-origin files.
        self.send_header("Content-Security-Policy",
                         "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                         "script-src 'self'; object-src 'none'; base-uri 'none'")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()


def make_server(site_dir: Path, port: int = 8000) -> ThreadingHTTPServer:
    """A server of ``site_dir`` on 127.0.0.1:``port`` (0: any free port), not yet serving."""
    if not (site_dir / "index.html").is_file():
        raise ArtifactError("no marketplace site yet", file=site_dir,
                            fix="run `mesh-sync` (or `mesh build`): it writes catalog/site/")
    handler = functools.partial(_Handler, directory=str(site_dir))
    try:
        return ThreadingHTTPServer((HOST, port), handler)
    except OSError as exc:
        raise UsageError(f"cannot listen on {HOST}:{port}: {exc.strerror}",
                         fix="pass another --port (0 picks a free one)") from None


def serve(site_dir: Path, port: int = 8000,
          on_ready: Callable[[str], None] | None = None) -> None:
    """Serve until interrupted; ``on_ready`` gets the URL once the socket listens."""
    server = make_server(site_dir, port)
    host, bound = server.server_address[:2]
    if on_ready is not None:
        on_ready(f"http://{host!s}:{bound}/")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()

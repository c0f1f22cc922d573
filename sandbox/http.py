"""Serve a WSGI application on a free loopback port in a background thread."""

from __future__ import annotations

import threading

from werkzeug.serving import make_server


class ServerThread:
    """A WSGI server on ``127.0.0.1`` with a port chosen by the system.

    ``start()`` returns once the socket listens, so ``url`` answers at once;
    ``stop()`` shuts the server down and joins its thread.
    """

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0):
        self._server = make_server(host, port, app, threaded=True)
        self.host = host
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The base URL of the server, without a trailing slash."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> ServerThread:
        """Start serving in the background and return self."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread to end."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

"""Keep-alive HTTP(S) connections to one host (stdlib http.client), with a timeout on every call."""
from __future__ import annotations

import http.client
import socket
import threading
import urllib.parse

from .errors import TransientError

# What a dropped or half-answered connection raises; all mean "try again on a new connection".
NETWORK_ERRORS = (http.client.HTTPException, ConnectionError, socket.timeout, TimeoutError, OSError)


class ConnectionPool:
    """Idle connections to `base_url`, reused across calls and threads; broken ones are dropped."""

    def __init__(self, base_url: str, timeout: float, max_idle: int = 8):
        parts = urllib.parse.urlsplit(base_url)
        self.scheme, self.host = parts.scheme, parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.prefix = parts.path.rstrip("/")
        self.timeout, self.max_idle = timeout, max_idle
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self.opened = 0

    def _connect(self) -> http.client.HTTPConnection:
        self.opened += 1
        if self.scheme == "https":
            return http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout)
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        """(status, headers, body bytes); TransientError when the network fails or the body is cut short."""
        with self._lock:
            conn, reused = (self._idle.pop(), True) if self._idle else (None, False)
        if conn is None:
            conn = self._connect()
        try:
            try:
                return self._exchange(conn, method, path, body, headers)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                if not reused:
                    raise
                conn.close()  # the server closed an idle keep-alive connection: one fresh try
                conn = self._connect()
                return self._exchange(conn, method, path, body, headers)
        except NETWORK_ERRORS as error:
            conn.close()
            raise TransientError(f"network error: {type(error).__name__}: {error}") from None

    def _exchange(self, conn, method, path, body, headers):
        conn.request(method, self.prefix + path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()  # IncompleteRead on a truncated body
        if response.will_close:
            conn.close()
        else:
            with self._lock:
                if len(self._idle) < self.max_idle:
                    self._idle.append(conn)
                    conn = None
            if conn is not None:
                conn.close()
        return response.status, response.headers, data

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

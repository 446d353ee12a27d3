"""Connection discipline for the CRM's threaded HTTP server (issue 15, items 1–3).

- TLS handshakes happen in the connection's own thread with a deadline, never in the accept
  loop: one silent TCP connection must not freeze every other client.
- At most `max_connections` connections are served at once; one more is answered 503 by a
  single small rejecter thread (bounded queue; beyond it the socket is just closed).
- Every read has a deadline: the request line and headers within `header_timeout` of their
  first byte, the body within `body_timeout`, and a kept-alive connection may sit idle between
  requests for at most `keepalive_idle` seconds (the first request gets `header_timeout`).
- The listen backlog is 128 (socketserver's 5 reset bursts of concurrent clients).
"""
from __future__ import annotations

import io
import logging
import queue
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from http.server import ThreadingHTTPServer

log = logging.getLogger("crm")

LISTEN_BACKLOG = 128  # Linux caps it at net.core.somaxconn (4096 on current kernels)
REJECT_QUEUE = 32  # over-cap connections waiting for their 503; more are closed at once
REJECT_LINGER_SEC = 0.25  # how long the rejecter waits for an over-cap client to read its 503
_OVER_CAPACITY_BODY = b'{"error":"too many connections; retry shortly"}'
OVER_CAPACITY = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 5\r\n"
                 b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(_OVER_CAPACITY_BODY)) + _OVER_CAPACITY_BODY


@dataclass(frozen=True)
class Limits:
    max_connections: int = 200
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keepalive_idle: float = 15.0


class DeadlineReader(io.RawIOBase):
    """A socket's read side where each phase (idle, headers, body) has an overall deadline.

    A plain socket timeout bounds each recv only, so a client sending one byte a second would
    hold its thread for ever; here the deadline covers the whole phase.
    """

    def __init__(self, sock, limits: Limits):
        self.sock, self.limits = sock, limits
        self.deadline = time.monotonic() + limits.header_timeout
        self.idle = True  # waiting for a request's first byte

    def readable(self) -> bool:
        return True

    def expect_request(self, first: bool) -> None:
        self.idle = True
        self.deadline = time.monotonic() + (self.limits.header_timeout if first else self.limits.keepalive_idle)

    def expect_body(self) -> None:
        self.idle = False
        self.deadline = time.monotonic() + self.limits.body_timeout

    def readinto(self, buffer) -> int:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("read deadline passed")
        self.sock.settimeout(remaining)
        try:
            count = self.sock.recv_into(buffer)
        finally:
            self.sock.settimeout(self.limits.body_timeout)  # what writes to a slow reader may take
        if count and self.idle:  # a request started: its headers get their own deadline
            self.idle = False
            self.deadline = time.monotonic() + self.limits.header_timeout
        return count


class LimitedHTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer with a connection cap, TLS in the worker thread and a larger backlog."""

    daemon_threads = True
    block_on_close = False  # idle connections end by their deadlines; shutdown does not wait for them
    request_queue_size = LISTEN_BACKLOG

    def __init__(self, address, handler_class, limits: Limits, tls_context: ssl.SSLContext | None = None):
        super().__init__(address, handler_class)
        self.limits, self.tls_context = limits, tls_context
        self._active = 0
        self._active_lock = threading.Lock()
        self._rejects: queue.Queue = queue.Queue(REJECT_QUEUE)
        threading.Thread(target=self._reject_loop, name="crm-rejecter", daemon=True).start()

    def process_request(self, request, client_address):
        """In the accept loop: count the connection in, or hand it to the rejecter; never block."""
        with self._active_lock:
            admitted = self._active < self.limits.max_connections
            if admitted:
                self._active += 1
        if admitted:
            super().process_request(request, client_address)
            return
        try:
            self._rejects.put_nowait((request, client_address))
        except queue.Full:
            self.shutdown_request(request)

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._active_lock:
                self._active -= 1

    def finish_request(self, request, client_address):
        """The TLS handshake (if any) here, in the connection's thread, within header_timeout."""
        secured = self._secure(request, client_address, self.limits.header_timeout)
        if secured is None:
            return
        try:
            super().finish_request(secured, client_address)
        finally:
            if secured is not request:
                self.shutdown_request(secured)

    def _secure(self, sock, client_address, timeout: float):
        """The socket to speak HTTP on: itself, its TLS wrapper after a handshake, or None."""
        if self.tls_context is None:
            return sock
        try:
            sock.settimeout(timeout)
            wrapped = self.tls_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
            wrapped.do_handshake()
            return wrapped
        except (OSError, ssl.SSLError) as exc:  # TimeoutError is an OSError
            log.info("%s TLS handshake failed: %s", client_address[0], exc.__class__.__name__)
            self.shutdown_request(sock)
            return None

    def _reject_loop(self) -> None:
        while True:
            sock, client_address = self._rejects.get()
            try:
                self._reject(sock, client_address)
            except Exception:  # noqa: BLE001 - the rejecter must outlive any one bad socket
                log.debug("rejecting %s failed", client_address[0], exc_info=True)
                self.shutdown_request(sock)

    def _reject(self, sock, client_address) -> None:
        """503 to one over-cap client, then read until it closes (closing first could reset the 503)."""
        log.warning("%s refused: %d connections open (CRM_MAX_CONNECTIONS)", client_address[0],
                    self.limits.max_connections)
        secured = self._secure(sock, client_address, REJECT_LINGER_SEC)
        if secured is None:
            return
        try:
            secured.settimeout(REJECT_LINGER_SEC)
            secured.sendall(OVER_CAPACITY)
            if secured is sock:
                sock.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + REJECT_LINGER_SEC
            while time.monotonic() < deadline and secured.recv(65536):
                pass
        except OSError:
            pass
        finally:
            self.shutdown_request(secured)

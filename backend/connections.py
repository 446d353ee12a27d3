"""Connection discipline for the CRM's threaded HTTP server (issue 15, items 1–3).

- TLS handshakes happen in the connection's own thread with a deadline, never in the accept
  loop: one silent TCP connection must not freeze every other client.
- At most `max_connections` connections are served at once, and at most `max_per_client` from one
  client (backend.connection_slots); when full, an idle connection is closed to make room, and only
  with none idle is one more answered 503 by a single small rejecter thread (bounded queue; beyond
  it the socket is just closed).
- Every read has a deadline: the request line and headers within `header_timeout` of their
  first byte, the body within `body_timeout`, and a kept-alive connection may sit idle between
  requests for at most `keepalive_idle` seconds (the first request gets `header_timeout`).
- The listen backlog is 128 (socketserver's 5 reset bursts of concurrent clients).
"""
from __future__ import annotations

import io
import logging
import queue
import select
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from http.server import ThreadingHTTPServer

from .connection_slots import REFUSED_CLIENT, REFUSED_FULL, ConnectionSlots, Slot

log = logging.getLogger("crm")

LISTEN_BACKLOG = 128  # Linux caps it at net.core.somaxconn (4096 on current kernels)
REJECT_QUEUE = 32  # over-cap connections waiting for (or lingering after) their 503; more are closed at once
REJECT_LINGER_SEC = 1.0  # how long a 503'd connection stays open for its client to read the answer
REJECT_HANDSHAKE_SEC = 0.25  # an over-cap TLS client gets this long to shake hands for its 503
REFUSED_LOG_EVERY_SEC = 10.0  # one log line per this interval however many are refused
CLIENT_OVER_CAPACITY_MESSAGE = "too many connections from your address; retry shortly"


def _over_capacity(message: str) -> bytes:
    body = b'{"error":"%s"}' % message.encode()
    return (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 5\r\n"
            b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body)) + body


OVER_CAPACITY = {REFUSED_FULL: _over_capacity("too many connections; retry shortly"),
                 REFUSED_CLIENT: _over_capacity(CLIENT_OVER_CAPACITY_MESSAGE)}


@dataclass(frozen=True)
class Limits:
    max_connections: int = 200
    max_per_client: int = 32
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keepalive_idle: float = 15.0


class DeadlineReader(io.RawIOBase):
    """A socket's read side where each phase (idle, headers, body) has an overall deadline.

    A plain socket timeout bounds each recv only, so a client sending one byte a second would
    hold its thread for ever; here the deadline covers the whole phase.
    """

    def __init__(self, sock, limits: Limits, slot: Slot | None = None):
        self.sock, self.limits, self.slot = sock, limits, slot
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
        if self.idle and self.slot is not None:
            self.slot.waiting()  # blocked for a request's first byte: the first to go when the server is full
        try:
            count = self.sock.recv_into(buffer)
        finally:
            self.sock.settimeout(self.limits.body_timeout)  # what writes to a slow reader may take
        if count and self.idle:  # a request started: its headers get their own deadline
            self.idle = False
            self.deadline = time.monotonic() + self.limits.header_timeout
            if self.slot is not None:
                self.slot.working()
        return count


class LimitedHTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer with a connection cap, TLS in the worker thread and a larger backlog."""

    daemon_threads = True
    block_on_close = False  # idle connections end by their deadlines; shutdown does not wait for them
    request_queue_size = LISTEN_BACKLOG

    def __init__(self, address, handler_class, limits: Limits, tls_context: ssl.SSLContext | None = None,
                 trusted_proxies: tuple = ()):
        super().__init__(address, handler_class)
        self.limits, self.tls_context = limits, tls_context
        self.slots = ConnectionSlots(limits.max_connections, limits.max_per_client, trusted_proxies)
        self._current = threading.local()  # the worker thread's Slot, for its handler
        self._rejecter = Rejecter(self)

    def process_request(self, request, client_address):
        """In the accept loop: take a slot (closing an idle connection if need be), or hand the socket
        to the rejecter; never block."""
        slot = self.slots.admit(request, client_address[0])
        if isinstance(slot, str):
            self._rejecter.reject(request, client_address, slot)
            return
        thread = threading.Thread(target=self.process_request_thread, args=(request, client_address, slot),
                                  daemon=True)
        thread.start()

    def process_request_thread(self, request, client_address, slot: Slot | None = None):
        self._current.slot = slot
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._current.slot = None
            if slot is not None:
                self.slots.release(slot)

    def current_slot(self) -> Slot | None:
        """The slot of the connection this (worker) thread serves."""
        return getattr(self._current, "slot", None)

    def finish_request(self, request, client_address):
        """The TLS handshake (if any) here, in the connection's thread, within header_timeout."""
        secured = self.secure(request, client_address, self.limits.header_timeout, self.current_slot())
        if secured is None:
            return
        try:
            super().finish_request(secured, client_address)
        finally:
            if secured is not request:
                self.shutdown_request(secured)

    def secure(self, sock, client_address, timeout: float, slot: Slot | None = None):
        """The socket to speak HTTP on: itself, its TLS wrapper after a handshake, or None."""
        if self.tls_context is None:
            return sock
        try:
            sock.settimeout(timeout)
            wrapped = self.tls_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
            if slot is not None:
                slot.sock = wrapped  # the wrapper owns the socket now: closing an idle one goes through it
            wrapped.do_handshake()
            return wrapped
        except (OSError, ssl.SSLError) as exc:  # TimeoutError is an OSError
            log.info("%s TLS handshake failed: %s", client_address[0], exc.__class__.__name__)
            self.shutdown_request(sock)
            return None


class Rejecter:
    """One thread that answers over-cap connections 503, so the accept loop never waits on them.

    After the 503 it keeps each socket open (up to REJECT_LINGER_SEC, reading what arrives)
    until the client closes: closing with its request unread would reset the connection and
    could destroy the 503 before the client reads it. Lingering sockets are multiplexed, so
    idle over-cap clients cannot delay the 503 of the next one.
    """

    def __init__(self, server: LimitedHTTPServer):
        self.server = server
        self.waiting: queue.Queue = queue.Queue(REJECT_QUEUE)
        self.lingering: dict = {}  # socket -> deadline (monotonic)
        self.refused, self.next_log_at = 0, 0.0
        threading.Thread(target=self._loop, name="crm-rejecter", daemon=True).start()

    def reject(self, sock, client_address, reason: str = REFUSED_FULL) -> None:
        """From the accept loop: queue the socket for its 503, or close it when the queue is full."""
        try:
            self.waiting.put_nowait((sock, client_address, reason))
        except queue.Full:
            self.server.shutdown_request(sock)

    def _loop(self) -> None:
        while True:
            try:
                sock, client_address, reason = self.waiting.get(timeout=0.05 if self.lingering else None)
            except queue.Empty:
                pass
            else:
                self._answer(sock, client_address, reason)
            self._drain()

    def _answer(self, sock, client_address, reason: str) -> None:
        self.refused += 1
        if time.monotonic() >= self.next_log_at:  # a flood must not flood the log too
            limits = self.server.limits
            why = (f"{limits.max_per_client} connections from this address (CRM_MAX_CONNECTIONS_PER_CLIENT)"
                   if reason == REFUSED_CLIENT else f"{limits.max_connections} connections open (CRM_MAX_CONNECTIONS)")
            log.warning("%s refused: %s, none idle; %d refused since the last line",
                        client_address[0], why, self.refused)
            self.refused, self.next_log_at = 0, time.monotonic() + REFUSED_LOG_EVERY_SEC
        secured = self.server.secure(sock, client_address, REJECT_HANDSHAKE_SEC)
        if secured is None:
            return
        try:
            secured.settimeout(REJECT_LINGER_SEC)
            secured.sendall(OVER_CAPACITY[reason])
            if secured is sock:
                sock.shutdown(socket.SHUT_WR)
            secured.setblocking(False)
        except OSError:
            self.server.shutdown_request(secured)
            return
        if len(self.lingering) >= REJECT_QUEUE:  # bounded: the oldest gives way
            oldest = min(self.lingering, key=self.lingering.get)
            self._close(oldest)
        self.lingering[secured] = time.monotonic() + REJECT_LINGER_SEC

    def _drain(self) -> None:
        """Read what lingering clients sent; close those that closed or whose time is up."""
        if not self.lingering:
            return
        readable, _, _ = select.select(list(self.lingering), [], [], 0)
        for sock in readable:
            try:
                done = not sock.recv(65536)
            except (BlockingIOError, ssl.SSLWantReadError):
                done = False
            except OSError:
                done = True
            if done:
                self._close(sock)
        now = time.monotonic()
        for sock in [s for s, deadline in self.lingering.items() if deadline <= now]:
            self._close(sock)

    def _close(self, sock) -> None:
        self.lingering.pop(sock, None)
        try:
            sock.close()
        except OSError:
            pass

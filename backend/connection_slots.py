"""Who holds the server's connection slots (issue 22, item 4): at most `per_client` per client address,
and when every slot is taken the idle connections are the first to go.

A client that meets every deadline (a request every ~20 s per socket) could otherwise hold all
CRM_MAX_CONNECTIONS slots and every other client would get 503. So:

- At accept, a connection counts against its peer's address (client_address.cap_key: an IPv6 client by its
  /64, an IPv4-mapped one as its IPv4); at the cap (CRM_MAX_CONNECTIONS_PER_CLIENT)
  that client's own longest-idle connection is closed to make room, and with none idle the new one
  gets 503. A trusted proxy's connections (CRM_TRUSTED_PROXY) count against nobody at accept: each
  request moves its connection to the client the proxy forwards, and the same cap applies there.
- When the server is full, an idle connection is closed for the newcomer: one waiting for its
  request's first byte (just opened, or kept alive between requests), taken from the client that
  holds the most connections, the longest idle first. Only with none idle is the newcomer refused.

Idle means the worker is blocked reading with no byte of the next request buffered, for at least
IDLE_GRACE_SEC: a connection just opened (or just answered) has its request on the way, and one
whose bytes have arrived (MSG_PEEK) is about to be busy; both are left alone.
"""
from __future__ import annotations

import select
import socket
import threading
import time

from .client_address import cap_key, is_trusted

REFUSED_CLIENT, REFUSED_FULL = "client", "full"
IDLE_GRACE_SEC = 0.5  # a burst of a client's own new connections (100 writers at once) is not idle yet


class Slot:
    """One admitted connection: its socket, the client it counts against (None: a proxy's, not yet
    attributed), since when it is idle (None: busy), and whether it was closed to make room."""

    __slots__ = ("sock", "client", "idle_since", "evicted", "registry")

    def __init__(self, registry: "ConnectionSlots", sock, client: str | None):
        self.registry, self.sock, self.client = registry, sock, client
        self.idle_since: float | None = time.monotonic()  # open without a byte sent
        self.evicted = False

    def waiting(self) -> None:
        """The worker is about to block for the next request's first byte."""
        with self.registry.lock:
            if self.idle_since is None:
                self.idle_since = time.monotonic()

    def working(self) -> None:
        """A request's bytes arrived (or are being handled)."""
        with self.registry.lock:
            self.idle_since = None


class ConnectionSlots:
    def __init__(self, total: int, per_client: int, trusted: tuple = ()):
        self.total, self.per_client, self.trusted = total, per_client, trusted
        self.lock = threading.Lock()
        self.slots: set[Slot] = set()
        self.by_client: dict[str | None, set[Slot]] = {}
        self.evictions = 0

    def __len__(self) -> int:
        return len(self.slots)

    def admit(self, sock, peer: str) -> Slot | str:
        """At accept: a Slot, or why not (REFUSED_CLIENT: the client's cap; REFUSED_FULL: the server's)."""
        client = None if is_trusted(peer, self.trusted) else cap_key(peer)
        with self.lock:
            if client is not None and not self._room_for(client):
                return REFUSED_CLIENT
            if len(self.slots) >= self.total and not self._evict(self.slots):
                return REFUSED_FULL
            slot = Slot(self, sock, client)
            self.slots.add(slot)
            self.by_client.setdefault(client, set()).add(slot)
            return slot

    def attribute(self, slot: Slot, client: str) -> bool:
        """Per request: count `slot` against `client` (the forwarded one behind a proxy); False when that
        client is at its cap with nothing idle to close (the request gets 503 and the connection ends)."""
        client = cap_key(client)
        with self.lock:
            if slot.client == client or slot.evicted or slot not in self.slots:
                return True
            if not self._room_for(client):
                return False
            self._unlink(slot)
            slot.client = client
            self.by_client.setdefault(client, set()).add(slot)
            return True

    def release(self, slot: Slot) -> None:
        """The connection's worker ended."""
        with self.lock:
            if slot in self.slots:
                self.slots.discard(slot)
                self._unlink(slot)

    # -- under the lock ------------------------------------------------------------------------
    def _room_for(self, client: str) -> bool:
        held = self.by_client.get(client, ())
        return len(held) < self.per_client or self._evict(held)

    def _unlink(self, slot: Slot) -> None:
        held = self.by_client.get(slot.client)
        if held is not None:
            held.discard(slot)
            if not held:
                del self.by_client[slot.client]

    def _evict(self, among) -> bool:
        """Close one idle connection of `among` (the busiest client's, longest idle first); False if none is idle."""
        old = time.monotonic() - IDLE_GRACE_SEC
        candidates = sorted((s for s in among if s.idle_since is not None and s.idle_since <= old),
                            key=lambda s: (-len(self.by_client.get(s.client, ())), s.idle_since))
        for slot in candidates:
            if _has_bytes(slot.sock):
                continue  # its request is arriving: not idle after all
            slot.evicted = True
            self.slots.discard(slot)
            self._unlink(slot)
            self.evictions += 1
            try:  # the worker's blocked read returns at once and it ends; socket.socket's own shutdown
                socket.socket.shutdown(slot.sock, socket.SHUT_RDWR)  # leaves a TLS wrapper's state to its thread
            except OSError:
                pass
            return True
        return False


def _has_bytes(sock) -> bool:
    """Bytes (or the client's close) wait on `sock`; never blocks. (A TLS connection cannot be idle with
    decrypted bytes in its buffer: its worker's read would have returned them.)

    poll, not recv(MSG_PEEK | MSG_DONTWAIT): Python waits out a socket's timeout before any recv,
    flags or not, and the worker has set one; poll, not select, for descriptors past 1024."""
    try:
        fd = sock.fileno()
    except (OSError, ValueError):
        return False
    if fd < 0:
        return False  # closed: as good as idle
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))

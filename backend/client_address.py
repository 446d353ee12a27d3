"""Who a request really comes from: the peer, or behind the trusted proxy the address it forwards.

`X-Forwarded-For` is a header anyone can send, so it counts only when the TCP peer is one of
CRM_TRUSTED_PROXY's addresses (default: none, and then the header is ignored). A proxy appends the
address it saw to whatever the client sent, so the list is read from the right: the first entry
that is not itself a trusted proxy is the client; entries left of it are the client's own words.
"""
from __future__ import annotations

import ipaddress


def parse_trusted(raw: str) -> tuple:
    """"10.0.0.5, 2001:db8::/64" → networks; ValueError naming the bad entry."""
    networks = []
    for entry in (part.strip() for part in raw.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"expected IP addresses or networks separated by commas, got {entry!r}") from None
    return tuple(networks)


def _address(text: str):
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def cap_key(address: str) -> str:
    """Whom a connection counts against for CRM_MAX_CONNECTIONS_PER_CLIENT: an IPv4 address as it is; an IPv6
    one by its /64 (one site's hosts get a /64, and any of its 2**64 addresses is theirs to pick); an
    IPv4-mapped IPv6 address as its IPv4. Anything unparseable as it is."""
    ip = _address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(ip) >> 64 << 64, 64)))
    return str(ip) if ip is not None else address


def is_trusted(address: str, trusted: tuple) -> bool:
    ip = _address(address)
    return ip is not None and any(ip in network for network in trusted)


def client_address(peer: str, forwarded_for: list | None, trusted: tuple) -> str:
    """The client's address: `peer`, unless `peer` is a trusted proxy with a usable X-Forwarded-For."""
    if not trusted or not is_trusted(peer, trusted):
        return peer
    entries = [entry for header in forwarded_for or () for entry in header.split(",")]
    for entry in reversed(entries):
        ip = _address(entry)
        if ip is None:
            return peer  # a proxy writes addresses; anything else is not to be trusted further left
        if not any(ip in network for network in trusted):
            return str(ip)
    return peer

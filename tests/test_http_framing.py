"""Request framing on raw sockets against a real CRM (issue 22, item 11): one Content-Length of
ASCII digits, nothing else; a duplicate, a Transfer-Encoding or a malformed header line is 400 and
the connection closes, so bytes a proxy framed differently are never served as a second request."""
import re
import socket

import pytest

from test_connections import address, closed_within

LOGIN = b'{"email":"nobody@firm.test","password":"not it at all"}'  # 54 bytes: answered 401
SMUGGLED = b"GET /api/auth/me HTTP/1.1\r\nHost: x\r\n\r\n"


def exchange(server, raw: bytes) -> bytes:
    """Send `raw`, then read everything the server sends until it closes (or 3 s pass)."""
    with socket.create_connection(address(server), timeout=5) as sock:
        sock.sendall(raw)
        sock.settimeout(3)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except (socket.timeout, ConnectionResetError):
            pass
    return received


def statuses(received: bytes) -> list[int]:
    return [int(status) for status in re.findall(rb"HTTP/1\.1 (\d{3}) ", received)]


def post(headers: bytes, body: bytes = LOGIN) -> bytes:
    return (b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + headers
            + b"\r\n" + body)


def test_a_plain_content_length_is_served_and_kept_alive(crm):
    length = b"Content-Length: %d\r\n" % len(LOGIN)
    assert statuses(exchange(crm, post(length) + SMUGGLED)) == [401, 401]  # two honest requests


@pytest.mark.parametrize("value", [b"+54", b"5_4", b"54 ", b"\x0b54", b"54\x0c", "٥٤".encode(), b"0x36",
                                   b"54, 54", b"-0", b"", b"54\r\n 0"])
def test_a_content_length_that_is_not_plain_digits_is_400_and_closes(crm, value):
    received = exchange(crm, post(b"Content-Length: " + value + b"\r\n") + SMUGGLED)
    assert statuses(received) == [400], received
    assert b"Content-Length" in received and b"Connection: close" in received


@pytest.mark.parametrize("headers", [
    b"Content-Length: 54\r\nContent-Length: 93\r\n",  # the first wins in http.client: the rest was a request
    b"Content-Length: 93\r\nContent-Length: 54\r\n",
    b"Content-Length: 54\r\nContent-Length: 54\r\n",  # equal, still refused
    b"Content-Length: 54\r\nTransfer-Encoding: chunked\r\n",
    b"Transfer-Encoding: chunked\r\nContent-Length: 54\r\n",
    b"Transfer-Encoding: identity\r\n",
    b"Content-Length : 93\r\nContent-Length: 54\r\n",  # a line that is no header ends the parse
    b"X-Note: a\r\nContent-Length\t: 54\r\n",
])
def test_duplicate_or_conflicting_framing_is_400_and_nothing_is_smuggled(crm, headers):
    received = exchange(crm, post(headers) + SMUGGLED)
    assert statuses(received) == [400], received
    assert b"Connection: close" in received


def test_the_connection_is_closed_after_a_framing_error(crm):
    with socket.create_connection(address(crm), timeout=5) as sock:
        sock.sendall(post(b"Content-Length: +54\r\n"))
        assert closed_within(sock, 3)


def test_a_rate_limited_request_leaves_no_body_behind(crm_factory):
    server = crm_factory({"CRM_RATE_LIMIT_PER_MIN": "1"})
    first = b"GET /api/auth/me HTTP/1.1\r\nHost: x\r\n\r\n"
    refused = b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(SMUGGLED) + SMUGGLED
    assert statuses(exchange(server, first + refused)) == [401, 429]  # its body is not read as a request

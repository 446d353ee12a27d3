"""POST a form to an OAuth token endpoint (stdlib only) and classify what comes back."""
from __future__ import annotations

import json
import socket
import urllib.error
import urllib.parse
import urllib.request

from .errors import TransientError, classify


def post_form(url: str, fields: dict, timeout: float) -> dict:
    """The token endpoint's JSON on 2xx; a classified GmailError otherwise (never the secrets in it)."""
    body = urllib.parse.urlencode(fields).encode("ascii")
    request = urllib.request.Request(url, body, {"Content-Type": "application/x-www-form-urlencoded",
                                                 "Accept": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = response.read()
    except urllib.error.HTTPError as error:
        raise classify(error.code, error.read(), error.headers) from None
    except (urllib.error.URLError, socket.timeout, ConnectionError, OSError) as error:
        raise TransientError(f"token endpoint unreachable: {getattr(error, 'reason', error)}") from None
    try:
        data = json.loads(payload)
    except ValueError:
        raise TransientError("token endpoint answered with something that is not JSON") from None
    if not isinstance(data, dict) or not data.get("access_token"):
        raise TransientError("token endpoint answered without an access_token")
    return data

"""Google's JSON error body (cloud.google.com/apis/design/errors, with the v1 "errors" list Gmail still sends)."""
from __future__ import annotations

STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}


def google_error(status: int, message: str, reason: str, domain: str = "global") -> dict:
    """Google's error body; `status` (the RPC code's name) only where one maps (Calendar's 410 has none)."""
    error = {"code": status, "message": message, "errors": [{"message": message, "domain": domain, "reason": reason}]}
    if status in STATUS_NAMES:
        error["status"] = STATUS_NAMES[status]
    return {"error": error}

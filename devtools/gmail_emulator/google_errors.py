"""Google's JSON error body (cloud.google.com/apis/design/errors, with the v1 "errors" list Gmail still sends)."""
from __future__ import annotations

STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}


def google_error(status: int, message: str, reason: str, domain: str = "global") -> dict:
    return {"error": {"code": status, "message": message,
                      "errors": [{"message": message, "domain": domain, "reason": reason}],
                      "status": STATUS_NAMES.get(status, "UNKNOWN")}}

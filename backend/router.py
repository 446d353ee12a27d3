"""Dispatch of one request through a route table: the core's and the email integration's alike.

Kept apart from the request handler (backend.server) the way CPython's xmlrpc keeps
SimpleXMLRPCDispatcher apart from its handler, so that email_integration.routes can use it
without importing the server that imports it (issue 15, item 14): the integration depends on
the core, and the core reaches the integration only through the seed's three guarded seams.
"""
from __future__ import annotations

import logging

from .web import HTTPError, Request, Response, resolve

log = logging.getLogger("crm")


def serve_routes(handler, routes, not_found: bool = False) -> bool:
    """Resolve in `routes`, run guard + handler, send the response; False if no path matched.

    `handler` is the CRM's request handler after its pre-checks (url_path, query, user, conn,
    raw_body set). With `not_found`, an unmatched path answers 404 instead of returning False.
    """
    method = "GET" if handler.command == "HEAD" else handler.command  # HEAD is GET without the body
    try:
        route, params = resolve(routes, method, handler.url_path)
    except HTTPError as error:
        if error.status == 404 and not not_found:
            return False
        handler.respond_error(error)
        return True
    request = Request(method=method, path=handler.url_path, query=handler.query, params=params,
                      headers=handler.headers, user=handler.user, raw_body=handler.raw_body,
                      handler=handler, conn=handler.conn)
    try:
        if route.guard is not None:
            route.guard(request)
        result = route.handler(request)
        if result is None:
            return True  # the handler streamed its own response
        try:
            handler.respond(result if isinstance(result, Response) else Response.json(result))
        except (BrokenPipeError, ConnectionResetError) as error:
            # The client left before the answer was written (a tab closed, a page navigated on): routine, not a
            # 500 nor a traceback; the connection is done.
            log.info("%s %s: the client went away while answered (%s)", handler.command, handler.url_path,
                     error.__class__.__name__)
            handler.close_connection = True
    except HTTPError as error:
        handler.respond_error(error)
    except Exception:  # noqa: BLE001 - the one place an unexpected error becomes a 500
        log.exception("unhandled error in %s %s", handler.command, handler.url_path)
        handler.close_connection = True
        handler.respond(Response.error("internal error", 500))
    return True

"""JSON errors for the API: every 4xx and 5xx under /api/ answers one JSON shape.

    {"error": {"status": 422, "code": "unprocessable_entity", "message": "...",
               "fields": {"title": ["Enter a title."]}}}

``message`` is in the user's language; ``code`` is stable for programs.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException, InternalServerError

API_PREFIX = "/api/"

MESSAGES = {
    400: _l("The request could not be understood."),
    401: _l("Send an API token in the header Authorization: Bearer <token>."),
    403: _l("You do not have access to do this."),
    404: _l("Not found."),
    405: _l("This method is not allowed here."),
    409: _l("Someone else changed this in the meantime."),
    413: _l("The request is too large."),
    415: _l("Send the body as JSON with Content-Type: application/json."),
    422: _l("The request has errors."),
    428: _l("Send the version you changed, in the body or in an If-Match header."),
    500: _l("Something went wrong on our side. Try again later."),
}
# Headers of Werkzeug's own error responses worth keeping (Allow on 405, ...).
_KEPT_HEADERS = frozenset({"allow", "www-authenticate", "retry-after"})


class ApiError(HTTPException):
    """An HTTP error with an optional message, field errors and extra members."""

    def __init__(
        self,
        code: int,
        message: str | None = None,
        *,
        fields: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(description=message)
        self.code = code
        self.message = message
        self.fields = fields
        self.extra_headers = headers or {}
        self.extra = extra


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIX)


def _code_name(status: int) -> str:
    from werkzeug.http import HTTP_STATUS_CODES

    return HTTP_STATUS_CODES.get(status, "error").lower().replace(" ", "_").replace("'", "")


def error_response(error: HTTPException | Exception) -> Response:
    """The JSON response for an error raised while answering an API request."""
    if not isinstance(error, HTTPException):
        error = InternalServerError()
    status = error.code or 500
    message = getattr(error, "message", None) or MESSAGES.get(status) or error.name
    body: dict[str, Any] = {"status": status, "code": _code_name(status), "message": str(message)}
    if isinstance(error, ApiError):
        if error.fields:
            body["fields"] = {k: [str(m) for m in v] for k, v in error.fields.items()}
        body.update(error.extra)
    response = jsonify({"error": body})
    response.status_code = status
    for name, value in error.get_headers():
        if name.lower() in _KEPT_HEADERS:
            response.headers[name] = value
    if isinstance(error, ApiError):
        response.headers.update(error.extra_headers)
    if status == 401:
        response.headers.setdefault("WWW-Authenticate", 'Bearer realm="kontraktsregister"')
    return response

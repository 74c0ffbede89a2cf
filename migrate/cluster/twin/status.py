"""API errors as the API server reports them: an HTTP code plus a `Status` body."""
# exercised by tests/cluster/twin/test_http.py

from __future__ import annotations

from typing import Any

_DETAIL_ORDER = ("name", "group", "kind", "uid", "causes", "retryAfterSeconds")


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        status: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
        }
        if self.reason:
            status["reason"] = self.reason
        if self.details:  # in StatusDetails' field order, as the API server's encoder writes them
            order = {key: i for i, key in enumerate(_DETAIL_ORDER)}
            status["details"] = dict(sorted(self.details.items(), key=lambda kv: order.get(kv[0], len(order))))
        status["code"] = self.code
        return status


def _details(qualified: str, name: str) -> dict[str, Any]:
    kind, _, group = qualified.partition(".")
    details: dict[str, Any] = {"name": name, "kind": kind}
    if group:
        details["group"] = group
    return details


def not_found(qualified: str, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{qualified} "{name}" not found', _details(qualified, name))


def already_exists(qualified: str, name: str) -> ApiError:
    return ApiError(409, "AlreadyExists", f'{qualified} "{name}" already exists', _details(qualified, name))


def conflict(qualified: str, name: str, why: str) -> ApiError:
    return ApiError(
        409, "Conflict", f'Operation cannot be fulfilled on {qualified} "{name}": {why}', _details(qualified, name)
    )


STALE = "the object has been modified; please apply your changes to the latest version and try again"


def invalid(kind: str, name: str, causes: list[tuple[str, str, str]], group: str = "") -> ApiError:
    """causes: (field, reason e.g. FieldValueRequired, message). The message names the kind with its group
    (`Deployment.apps "web" is invalid: ...`), as apierrors.NewInvalid does."""
    text = causes[0][0] + ": " + causes[0][2] if len(causes) == 1 else \
        "[" + ", ".join(f"{field}: {msg}" for field, _, msg in causes) + "]"
    details: dict[str, Any] = {"name": name, "kind": kind}
    if group:
        details["group"] = group
    details["causes"] = [{"reason": r, "message": m, "field": f} for f, r, m in causes]
    qualified = f"{kind}.{group}" if group else kind
    return ApiError(422, "Invalid", f'{qualified} "{name}" is invalid: {text}', details)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def gone(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def too_many_requests(message: str, causes: list[dict[str, str]]) -> ApiError:
    return ApiError(429, "TooManyRequests", message, {"causes": causes})


def internal(message: str) -> ApiError:
    return ApiError(500, "InternalError", message)


def method_not_allowed(message: str = "the server does not allow this method on the requested resource") -> ApiError:
    return ApiError(405, "MethodNotAllowed", message)


def unsupported_media(content_type: str) -> ApiError:
    return ApiError(
        415,
        "UnsupportedMediaType",
        f'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got "{content_type}")',
    )

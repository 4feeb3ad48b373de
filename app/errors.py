"""Every error the gateway answers with, as one hierarchy.

    GatewayError                      status, message, kind (error type in the caller's envelope)
    ├── ClientError                   the caller's fault; never retried, never a fallback
    │   ├── BadRequest                400 malformed body, unknown model, model not allowed
    │   ├── Unauthorized              401 bad or missing gateway key
    │   ├── Forbidden                 403
    │   ├── NotFound                  404 unknown route or endpoint
    │   ├── PayloadTooLarge           413 body over ``limits.max_body_bytes``
    │   └── RateLimited               429 project over its rpm (``retry_after`` seconds)
    └── UpstreamError                 a provider step failed; ``provider`` names it
        ├── UpstreamStatus            the provider answered an error status
        ├── UpstreamTimeout           504 no answer in time
        ├── UpstreamConnect           502 could not connect, or the connection broke
        ├── UpstreamProtocol          502 the provider answered something we cannot parse
        ├── CircuitOpen               503 the provider's circuit breaker is open
        └── AllStepsFailed            every step of a route failed (502, or their shared status)

Each style codec turns any of these into its own error envelope in one function
(``encode_error``); handlers never build error JSON by hand. Messages never contain keys.
"""

from __future__ import annotations

from collections.abc import Sequence


class GatewayError(Exception):
    status: int = 500
    kind: str = "api_error"

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status

    @property
    def retry_after(self) -> float | None:
        return None


class ClientError(GatewayError):
    status = 400
    kind = "invalid_request_error"


class BadRequest(ClientError):
    status = 400
    kind = "invalid_request_error"


class Unauthorized(ClientError):
    status = 401
    kind = "authentication_error"


class Forbidden(ClientError):
    status = 403
    kind = "permission_error"


class NotFound(ClientError):
    status = 404
    kind = "not_found_error"


class PayloadTooLarge(ClientError):
    status = 413
    kind = "request_too_large"


class BudgetExceeded(ClientError):
    """The project's monthly budget is spent (402: SDKs do not retry it)."""

    status = 402
    kind = "billing_error"


class RateLimited(ClientError):
    status = 429
    kind = "rate_limit_error"

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self._retry_after = retry_after

    @property
    def retry_after(self) -> float | None:
        return self._retry_after


class UpstreamError(GatewayError):
    """A provider step failed. ``reason`` is a short, key-free description for 502 bodies."""

    status = 502
    kind = "api_error"

    def __init__(self, message: str, *, provider: str, status: int | None = None) -> None:
        super().__init__(message, status=status)
        self.provider = provider

    @property
    def reason(self) -> str:
        return self.message

    @property
    def client_fault(self) -> bool:
        """True when retrying elsewhere cannot help: the request itself was refused."""
        return False


# Statuses where the provider says the request itself is wrong: returned to the caller as is.
CLIENT_FAULT_STATUSES = frozenset({400, 401, 403, 404, 413, 422})


class UpstreamStatus(UpstreamError):
    """The provider answered ``upstream_status``. ``body`` is its raw error body, ``kind`` the
    error type it named (mapped by the codec that decoded it)."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        upstream_status: int,
        body: bytes = b"",
        kind: str | None = None,
        retry_after: float | None = None,
        style: str | None = None,
    ) -> None:
        super().__init__(message, provider=provider, status=upstream_status)
        self.upstream_status = upstream_status
        self.body = body
        self.style = style
        self._retry_after = retry_after
        if kind:
            self.kind = kind
        else:
            self.kind = _KIND_BY_STATUS.get(upstream_status, "api_error")

    @property
    def retry_after(self) -> float | None:
        return self._retry_after

    @property
    def client_fault(self) -> bool:
        return self.upstream_status in CLIENT_FAULT_STATUSES

    @property
    def reason(self) -> str:
        return f"HTTP {self.upstream_status}: {self.message}"


class UpstreamTimeout(UpstreamError):
    status = 504
    kind = "timeout_error"

    @property
    def reason(self) -> str:
        return f"timeout: {self.message}"


class UpstreamConnect(UpstreamError):
    status = 502
    kind = "api_error"

    @property
    def reason(self) -> str:
        return f"connection error: {self.message}"


class UpstreamProtocol(UpstreamError):
    status = 502
    kind = "api_error"

    @property
    def reason(self) -> str:
        return f"bad upstream answer: {self.message}"


class CircuitOpen(UpstreamError):
    """The step was skipped: its provider's (or model's) circuit breaker is open. ``wait`` is
    the cooldown left, sent as ``Retry-After`` when every step of the route is open."""

    status = 503
    kind = "overloaded_error"
    wait: float | None = None

    @property
    def reason(self) -> str:
        return "circuit open"

    @property
    def retry_after(self) -> float | None:
        return self.wait


class AllStepsFailed(UpstreamError):
    """Every step failed. When they all failed the same way the caller gets that status
    (all 429 -> 429 with the shortest Retry-After, all timeouts -> 504, all circuits open -> 503),
    so the client SDK's own retry logic applies; otherwise 502 naming each step."""

    def __init__(self, route: str, failures: Sequence[UpstreamError]) -> None:
        self.failures = list(failures)
        status, kind = self._shared_status()
        steps = "; ".join(f"{f.provider}: {f.reason}" for f in self.failures)
        super().__init__(
            f"all {len(self.failures)} step(s) of route '{route}' failed: {steps}",
            provider=",".join(f.provider for f in self.failures),
            status=status,
        )
        self.kind = kind

    def _shared_status(self) -> tuple[int, str]:
        fs = self.failures
        if fs and all(_is_rate_limited(f) for f in fs):
            return 429, "rate_limit_error"
        if fs and all(isinstance(f, UpstreamTimeout) for f in fs):
            return 504, "timeout_error"
        if fs and all(isinstance(f, CircuitOpen) for f in fs):
            return 503, "overloaded_error"
        return 502, "api_error"

    @property
    def retry_after(self) -> float | None:
        waits = [f.retry_after for f in self.failures if f.retry_after is not None]
        if self.status in (429, 503) and waits:
            return min(waits)
        return None


def _is_rate_limited(err: UpstreamError) -> bool:
    return isinstance(err, UpstreamStatus) and err.upstream_status == 429


_KIND_BY_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    409: "api_error",
    413: "request_too_large",
    422: "invalid_request_error",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "overloaded_error",
    504: "timeout_error",
    529: "overloaded_error",
}

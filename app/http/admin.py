"""``GET /admin``: the admin page, and its sign-in (``POST /admin/login``, ``/admin/logout``).

Who sees what: an admin key sees every project, a project key its own project only (asking for
another is a 403), no key a sign-in form and never a figure. A key is accepted the way the API
takes it (header or ``?key=``) or typed into the form, which sets a signed, expiring session
cookie (HttpOnly, SameSite=Strict, Path=/admin; see ``Authenticator.session_token``). The page's
figures come from the same SQL as ``/admin/usage`` and the same registry as ``/metrics``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import parse_qs

from litestar import Request, Response, get, post

from app.auth import SESSION_TTL_S, Project, presented_key
from app.bootstrap import Runtime
from app.errors import BadRequest, Forbidden, GatewayError
from app.http.admin_html import AdminView, ProviderState, render_error, render_login, render_page
from app.observability.usage.database import Connection, DatabaseError
from app.observability.usage.migrations import migrate
from app.observability.usage.queries import UsageFilter, parse_instant, recent_requests, usage_summary

SESSION_COOKIE = "frugal_session"
RECENT_ROWS = 50
_MAX_FORM_BYTES = 4096
# the page runs no script and loads nothing: anything injected could neither run nor call out
_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
    "x-frame-options": "DENY",
}


def _html(body: str, status: int = 200, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        content=body, status_code=status, media_type="text/html; charset=utf-8",
        headers={**_HEADERS, **(headers or {})},
    )  # fmt: skip


def runtime_of(request: Request[Any, Any, Any]) -> Runtime:
    """The gateway runtime the Litestar app was built around."""
    runtime: Runtime = request.app.state.runtime
    return runtime


def provider_states(runtime: Runtime) -> list[ProviderState]:
    """Each provider's readiness and circuit states (what ``/health`` reports)."""
    breakers = runtime.breakers
    out: list[ProviderState] = []
    for name, p in runtime.providers.items():
        if p.disabled_reason:
            out.append(ProviderState(name, "disabled", {}, p.disabled_reason))
            continue
        circuits: dict[str, str] = (
            dict(breakers.states([name])[name]) if breakers is not None else {name: "closed"}
        )
        worst = breakers.provider_state(name) if breakers is not None else "closed"
        out.append(ProviderState(name, "ok" if worst != "open" else "circuit_open", circuits))
    return out


def usage_filter(query: dict[str, str], project: Project) -> UsageFilter:
    """The rows a caller may read: a project key is held to its project."""
    wanted = query.get("project") or None
    if not project.admin:
        if wanted is not None and wanted != project.name:
            raise Forbidden(f"a project key reads only its own project ('{project.name}')")
        wanted = project.name
    try:
        since = parse_instant(query["since"]) if query.get("since") else None
        until = parse_instant(query["until"], end=True) if query.get("until") else None
    except ValueError as exc:
        raise BadRequest(f"since/until: {exc}") from None
    return UsageFilter(wanted, since, until)


def budgets(runtime: Runtime, project: str | None) -> list[dict[str, Any]]:
    """Monthly budget, spend this UTC month and its share, per budgeted project in view."""
    b = runtime.budgets
    if b is None:
        return []
    return [
        {"project": name, "monthly_budget_usd": limit, "spent_usd": b.spent(name), "share": b.share(name)}
        for name, limit in sorted(b.budgets.items())
        if project is None or name == project
    ]


def read_usage(url: str, f: UsageFilter, recent: int = 0) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The summary (and the newest ``recent`` rows) on a connection of its own: run in a thread."""
    conn = Connection(url)
    try:
        migrate(conn)  # a no-op once applied; before the first write the tables may not exist yet
        return usage_summary(conn, f), (recent_requests(conn, f, recent) if recent else [])
    finally:
        conn.close()


def metric_values(runtime: Runtime) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Counter samples by family name, parsed from the very exposition ``/metrics`` serves."""
    from prometheus_client.parser import text_string_to_metric_families

    body, _ = runtime.metrics.render()
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            if sample.name.endswith("_total"):
                out.setdefault(sample.name, []).append((dict(sample.labels), float(sample.value)))
    return out


def _viewer(runtime: Runtime, request: Request[Any, Any, Any]) -> tuple[Project | None, bool]:
    """(who is looking, whether by a session cookie); (None, False) when nobody signed in.
    A wrong key or a bad session raises ``Unauthorized``."""
    auth = runtime.gateway.auth
    if not auth.enabled:
        return runtime.gateway.authenticate({}, {}), False
    headers = {k.lower(): v for k, v in request.headers.items()}
    query = dict(request.query_params)
    if presented_key(headers, query):
        return auth.authenticate(headers, query), False
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        return auth.from_session(token, time.time()), True
    return None, False


def _clear_cookie() -> str:
    return f"{SESSION_COOKIE}=; Path=/admin; Max-Age=0; HttpOnly; SameSite=Strict"


@get("/admin")
async def admin_page(request: Request[Any, Any, Any]) -> Response[str]:
    runtime = runtime_of(request)
    try:
        viewer, by_cookie = _viewer(runtime, request)
    except GatewayError as err:
        return _html(render_login(err.message), 401, {"set-cookie": _clear_cookie()})
    if viewer is None:
        return _html(render_login(), 401)
    query = {k: v for k, v in request.query_params.items() if k in ("since", "until", "project")}
    try:
        f = usage_filter(query, viewer)
    except GatewayError as err:
        return _html(render_error(err.status, err.message), err.status)
    usage: dict[str, Any] | None = None
    recent: list[dict[str, Any]] = []
    note: str | None = None
    if runtime.usage is None:
        note = "the usage store is switched off (usage.enabled: false)"
    else:
        try:
            usage, recent = await asyncio.to_thread(read_usage, runtime.usage.url, f, RECENT_ROWS)
        except DatabaseError as exc:
            note = f"the usage database is unavailable: {exc}"
    view = AdminView(
        scope=f.project,
        admin=viewer.admin,
        signed_in=by_cookie,
        filters=query,
        usage=usage,
        usage_note=note,
        recent=recent,
        budgets=budgets(runtime, f.project),
        providers=provider_states(runtime),
        metrics=metric_values(runtime) if viewer.admin else {},
        pending_rows=runtime.usage.pending if runtime.usage is not None else 0,
    )
    return _html(render_page(view))


@post("/admin/login", status_code=303)
async def admin_login(request: Request[Any, Any, Any]) -> Response[str]:
    runtime = runtime_of(request)
    body = await request.body()
    if len(body) > _MAX_FORM_BYTES:
        return _html(render_login("the form is too large"), 413)
    fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=8)
    key = (fields.get("key") or [""])[0].strip()
    token = runtime.gateway.auth.session_token(key, time.time()) if key else None
    if token is None:
        return _html(render_login("that key is not a gateway key"), 401)
    secure = "; Secure" if _https(request) else ""
    cookie = (
        f"{SESSION_COOKIE}={token}; Path=/admin; Max-Age={SESSION_TTL_S}; HttpOnly; SameSite=Strict{secure}"
    )
    return _html("", 303, {"location": "/admin", "set-cookie": cookie})


@post("/admin/logout", status_code=303)
async def admin_logout() -> Response[str]:
    return _html("", 303, {"location": "/admin", "set-cookie": _clear_cookie()})


def _https(request: Request[Any, Any, Any]) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "")
    return request.url.scheme == "https" or forwarded.split(",")[0].strip().lower() == "https"

"""Bad input never makes a 5xx: every endpoint of the running gateway, fed generated garbage.

Property: whatever the body, query or headers, the gateway answers below 500 (a 4xx in the
caller's envelope, or a 200 when the garbage happens to be a valid request) and stays up. Three
kinds of input per endpoint: arbitrary JSON (deep nesting, huge and non-finite numbers, wrong
types, lone surrogates), a valid request of that style with one field replaced by arbitrary JSON,
and raw bytes (malformed UTF-8, truncated JSON). ``/v1/raw/`` is left out on purpose: it forwards
the client's bytes verbatim, so its status is the upstream's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.conftest import KEY, Env

FUZZ = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,  # reproducible in CI; the seed database is not kept (-p no:cacheprovider)
)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


def _raw_oddities() -> st.SearchStrategy[bytes]:
    return st.sampled_from(
        [
            b"[" * 50_000 + b"]" * 50_000,  # deeper than any parser's recursion limit
            b'{"a":' * 20_000 + b"1" + b"}" * 20_000,
            b'{"model": "chat/ok", "messages": [{"role": "user", "content": "\xff\xfe\xfa"}]}',
            b'{"model": "chat/ok", "max_tokens": 1e999999}',
            b'{"model": "chat/ok", "max_tokens": NaN}',
            b'{"model": "chat/ok", "max_tokens": 123456789012345678901234567890}',
            b'{"model": "chat/ok", "messages": [{"role": "user", "content": "\\ud800"}]}',
            b'{"model": "chat/ok", "messages": ',
            b"\x00\x01\x02",
            b"",
            b"null",
            b'"just a string"',
        ]
    ) | st.binary(max_size=200)


def _valid_bodies(env: Env) -> dict[str, tuple[str, dict[str, Any]]]:
    """endpoint name -> (path, a valid body of that style)."""
    chat = {"model": env.model("openai-chat"), "messages": [{"role": "user", "content": "hi"}]}
    g = env.model("google-genai")
    google = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    return {
        "chat": ("/v1/chat/completions", chat),
        "chat-stream": ("/v1/chat/completions", {**chat, "stream": True}),
        "responses": ("/v1/responses", {"model": env.model("openai-chat"), "input": "hi"}),
        "responses-tokens": (
            "/v1/responses/input_tokens",
            {"model": env.model("openai-chat"), "input": "hi"},
        ),
        "messages": (
            "/v1/messages",
            {
                "model": env.model("openai-chat"),
                "max_tokens": 20,
                "messages": [{"role": "user", "content": "hi"}],
            },
        ),
        "count-tokens": (
            "/v1/messages/count_tokens",
            {"model": env.model("openai-chat"), "messages": [{"role": "user", "content": "hi"}]},
        ),
        "google": (f"/v1beta/models/{g}:generateContent", google),
        "google-stream": (f"/v1beta/models/{g}:streamGenerateContent?alt=sse", google),
        "google-count": (f"/v1beta/models/{g}:countTokens", google),
        "simple-chat": ("/chat", {"message": "hi"}),
    }


ENDPOINTS = [
    "chat",
    "chat-stream",
    "responses",
    "responses-tokens",
    "messages",
    "count-tokens",
    "google",
    "google-stream",
    "google-count",
    "simple-chat",
]


@pytest.fixture(scope="module")
def client(env: Env) -> Iterator[httpx.Client]:
    headers = {"authorization": f"Bearer {KEY}", "x-goog-api-key": KEY, "x-api-key": KEY}
    with httpx.Client(base_url=env.url, headers=headers, timeout=30) as c:
        yield c


def _check(resp: httpx.Response, what: str) -> None:
    assert resp.status_code < 500, f"{what}: {resp.status_code} {resp.text[:300]}"
    if resp.status_code >= 400:
        # an error in an envelope the client's SDK can read: JSON with an error inside
        body = resp.json()
        assert "error" in body or "message" in body or "detail" in body, f"{what}: {body}"


def _replace(body: dict[str, Any], path: list[str | int], value: Any) -> dict[str, Any]:
    out = json.loads(json.dumps(body))
    node: Any = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


def _paths(node: Any, prefix: list[str | int]) -> Iterator[list[str | int]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield [*prefix, k]
            yield from _paths(v, [*prefix, k])
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield [*prefix, i]
            yield from _paths(v, [*prefix, i])


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@FUZZ
@given(value=json_values)
def test_arbitrary_json_body(env: Env, client: httpx.Client, endpoint: str, value: Any) -> None:
    path, _ = _valid_bodies(env)[endpoint]
    _check(client.post(path, content=json.dumps(value)), f"{endpoint} {value!r:.200}")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@FUZZ
@given(data=st.data(), value=json_values)
def test_one_field_of_a_valid_request_replaced(
    env: Env, client: httpx.Client, endpoint: str, data: st.DataObject, value: Any
) -> None:
    path, body = _valid_bodies(env)[endpoint]
    where = data.draw(st.sampled_from(list(_paths(body, []))))
    mutated = _replace(body, where, value)
    _check(client.post(path, json=mutated), f"{endpoint} {where}={value!r:.200}")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@FUZZ
@given(raw=_raw_oddities())
def test_raw_bytes_body(env: Env, client: httpx.Client, endpoint: str, raw: bytes) -> None:
    path, _ = _valid_bodies(env)[endpoint]
    _check(
        client.post(path, content=raw, headers={"content-type": "application/json"}),
        f"{endpoint} {raw[:80]!r}",
    )


@FUZZ
@given(
    path=st.sampled_from(
        [
            "/health",
            "/live",
            "/v1/models",
            "/metrics",
            "/admin/runtime",
            "/v1beta/models",
            "/admin",
            "/admin/usage",
        ]
    ),
    query=st.dictionaries(st.text(max_size=10), st.text(max_size=30), max_size=3),
)
def test_get_endpoints_with_arbitrary_queries(client: httpx.Client, path: str, query: dict[str, str]) -> None:
    resp = client.get(path, params=query)
    assert resp.status_code < 500 or (path == "/health" and resp.status_code == 503), resp.text[:300]


@FUZZ
@given(
    raw=_raw_oddities() | st.binary(max_size=300),
    cookie=st.text(st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=";"), max_size=80),
)
def test_admin_sign_in_with_garbage(client: httpx.Client, raw: bytes, cookie: str) -> None:
    form = client.post(
        "/admin/login", content=raw, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert form.status_code in (401, 413), form.text[:300]
    page = httpx.get(
        str(client.base_url).rstrip("/") + "/admin",
        headers={"cookie": "frugal_session=" + cookie},
    )
    assert page.status_code == 401 and "data-k" not in page.text, page.text[:300]


def test_oversized_and_odd_headers(env: Env, client: httpx.Client) -> None:
    path, body = _valid_bodies(env)["chat"]
    huge = client.post(path, json=body, headers={"x-filler": "a" * 200_000})
    assert huge.status_code < 500 or huge.status_code == 431
    odd = client.post(
        path,
        json=body,
        headers={
            "x-gateway-cache": "sideways",
            "x-gateway-skill": ("\u00e9" * 10).encode(),  # non-ASCII header bytes
            "x-gateway-smart-routing": "??",
        },
    )
    assert odd.status_code < 500, odd.text
    wrong_type = client.post(path, content=json.dumps(body), headers={"content-type": "text/plain"})
    assert wrong_type.status_code < 500
    # the gateway is still up and answering after all of it
    assert client.get("/live").status_code == 200

"""Gateway keys: every header form, projects, constant-time digests, auth off without keys."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from app.auth import SESSION_TTL_S, Authenticator
from app.config import AuthConfig, ProjectConfig
from app.errors import Unauthorized

AUTH = Authenticator(
    AuthConfig(
        api_keys=["k-global"], projects=[ProjectConfig("team-a", "k-team", rpm=5, allowed_models=["x"])]
    ),
    default_rpm=60,
)


@pytest.mark.parametrize(
    ("headers", "query"),
    [
        ({"authorization": "Bearer k-global"}, {}),
        ({"authorization": "bearer  k-global "}, {}),
        ({"x-api-key": "k-global"}, {}),
        ({"x-goog-api-key": "k-global"}, {}),
        ({}, {"key": "k-global"}),
    ],
)
def test_every_client_style_of_sending_the_key(headers: dict[str, str], query: dict[str, str]) -> None:
    project = AUTH.authenticate(headers, query)
    assert project.name == "default" and project.rpm == 60


def test_project_keys_carry_limits() -> None:
    project = AUTH.authenticate({"x-api-key": "k-team"}, {})
    assert (project.name, project.rpm, project.allowed_models) == ("team-a", 5, frozenset({"x"}))


@pytest.mark.parametrize(
    "headers", [{}, {"authorization": "Bearer nope"}, {"authorization": "Basic k-global"}]
)
def test_missing_or_wrong_key(headers: dict[str, str]) -> None:
    with pytest.raises(Unauthorized):
        AUTH.authenticate(headers, {})


def test_no_keys_configured_means_open() -> None:
    auth = Authenticator(AuthConfig(api_keys=[""]), default_rpm=0)
    assert not auth.enabled
    assert auth.authenticate({}, {}).name == "default"


def _auth() -> Authenticator:
    return Authenticator(
        AuthConfig(api_keys=["admin-key"], projects=[ProjectConfig("team-a", "team-key")]), default_rpm=0
    )


def test_session_tokens_stand_for_their_key_until_they_expire() -> None:
    auth = _auth()
    admin = auth.session_token("admin-key", now=1000.0)
    team = auth.session_token("team-key", now=1000.0)
    assert admin is not None and team is not None
    assert "admin-key" not in admin and "team-key" not in team
    assert auth.from_session(admin, now=1001.0).admin
    assert auth.from_session(team, now=1001.0).name == "team-a"
    with pytest.raises(Unauthorized, match="expired"):
        auth.from_session(team, now=1000.0 + SESSION_TTL_S)
    assert auth.session_token("no-such-key", now=1000.0) is None


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("0" if t[-1] != "0" else "1"),  # the signature
        lambda t: t.split(".")[0] + ".99999999999." + t.split(".")[2],  # a longer life, same signature
        lambda t: "0" * 16 + t[16:],  # another selector
        lambda t: "",
        lambda t: "a.b.c",
        lambda t: t + ".x",
    ],
)
def test_forged_or_malformed_sessions_are_refused(mangle: Callable[[str], str]) -> None:
    auth = _auth()
    token = auth.session_token("team-key", now=1000.0)
    assert token is not None
    with pytest.raises(Unauthorized):
        auth.from_session(mangle(token), now=1001.0)


def test_a_session_dies_with_its_key() -> None:
    token = _auth().session_token("team-key", now=1000.0)
    assert token is not None
    without = Authenticator(AuthConfig(api_keys=["admin-key"]), default_rpm=0)
    with pytest.raises(Unauthorized):
        without.from_session(token, now=1001.0)

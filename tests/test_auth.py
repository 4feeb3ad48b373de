"""Gateway keys: every header form, projects, constant-time digests, auth off without keys."""

from __future__ import annotations

import pytest

from app.auth import Authenticator
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

"""Gateway keys -> the project a request belongs to.

Clients send the key the way their SDK does: ``Authorization: Bearer``, ``X-Api-Key`` (Anthropic),
``x-goog-api-key`` or ``?key=`` (Google). Keys are compared as SHA-256 digests with
``hmac.compare_digest``, so neither the lookup nor the comparison depends on how much of a
guessed key is right. With no key configured, auth is off and every request is project
``default`` with admin rights. Admin keys (``auth.api_keys``) may call ``/admin/*`` and read every
project's usage; a project key proxies for its project and reads only its own usage.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from app.config import AuthConfig
from app.errors import Unauthorized


@dataclass(frozen=True, slots=True)
class Project:
    name: str
    rpm: int = 0  # 0 = unlimited
    allowed_models: frozenset[str] | None = None
    admin: bool = False  # an admin key (``auth.api_keys``): may call /admin/* and read all usage
    tpm: int = 0  # estimated prompt tokens per minute; 0 = unlimited


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


SESSION_TTL_S = 12 * 3600


def _selector(digest: bytes) -> str:
    # names the key a session was made from without being usable as the key or its digest
    return hashlib.sha256(b"frugal-session-selector:" + digest).hexdigest()[:16]


def _session_mac(digest: bytes, selector: str, expires: int) -> str:
    return hmac.new(digest, f"frugal-session:{selector}:{expires}".encode(), hashlib.sha256).hexdigest()


def presented_key(headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    auth = headers.get("authorization")
    if auth:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    for name in ("x-api-key", "x-goog-api-key", "api-key"):
        value = headers.get(name)
        if value:
            return value.strip()
    return query.get("key") or None


class Authenticator:
    def __init__(self, cfg: AuthConfig, default_rpm: int, default_tpm: int = 0) -> None:
        self._projects: dict[bytes, Project] = {}
        for key in cfg.api_keys:
            if key:
                self._projects[_digest(key)] = Project("default", default_rpm, admin=True, tpm=default_tpm)
        for p in cfg.projects:
            if p.api_key:
                allowed = frozenset(p.allowed_models) if p.allowed_models is not None else None
                rpm = p.rpm if p.rpm is not None else default_rpm
                tpm = p.tpm if p.tpm is not None else default_tpm
                self._projects[_digest(p.api_key)] = Project(p.name, rpm, allowed, tpm=tpm)
        self._keys: dict[Project, bytes] = {p: d for d, p in self._projects.items()}
        self._selectors: dict[str, bytes] = {_selector(d): d for d in self._projects}
        self.enabled = bool(self._projects)
        # no key configured: a local first run, everything open (Railway refuses to start so)
        self._open = Project("default", default_rpm, admin=True, tpm=default_tpm)

    def authenticate(self, headers: Mapping[str, str], query: Mapping[str, str]) -> Project:
        if not self.enabled:
            return self._open
        key = presented_key(headers, query)
        if not key:
            raise Unauthorized(
                "missing gateway API key: send it as 'Authorization: Bearer <key>', 'x-api-key', "
                "'x-goog-api-key' or '?key='"
            )
        # Looking up the SHA-256 digest reveals nothing about how close a wrong key was; the
        # final comparison is constant-time all the same.
        digest = _digest(key)
        project = self._projects.get(digest)
        if project is None or not hmac.compare_digest(self._keys[project], digest):
            raise Unauthorized("invalid gateway API key")
        return project

    def session_token(self, key: str, now: float, ttl_s: int = SESSION_TTL_S) -> str | None:
        """A signed, expiring token standing for ``key`` (the admin page's cookie), or None for a
        key that is not configured. Stateless: every worker and replica verifies it with the key's
        digest it already holds, and removing the key from the configuration revokes it."""
        digest = _digest(key)
        if digest not in self._projects:
            return None
        selector = _selector(digest)
        expires = int(now) + ttl_s
        return f"{selector}.{expires}.{_session_mac(digest, selector, expires)}"

    def from_session(self, token: str, now: float) -> Project:
        """The project a session token was issued for; ``Unauthorized`` when it is malformed,
        forged, expired or its key is no longer configured."""
        selector, _, rest = token.partition(".")
        expires_text, _, mac = rest.partition(".")
        digest = self._selectors.get(selector)
        if digest is None or not expires_text.isdigit() or len(mac) != 64:
            raise Unauthorized("the admin session is not valid; sign in again")
        expires = int(expires_text)
        if not hmac.compare_digest(mac, _session_mac(digest, selector, expires)):
            raise Unauthorized("the admin session is not valid; sign in again")
        if expires <= now:
            raise Unauthorized("the admin session has expired; sign in again")
        return self._projects[digest]

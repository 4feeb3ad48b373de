"""PostgreSQL for tests: a fresh database on the machine's service, and throwaway servers a test
can stop and restart (``initdb`` + ``pg_ctl`` from the Debian package, run as ``postgres`` when
the tests run as root, since the server refuses root)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import psycopg

SERVICE = "postgresql://postgres@127.0.0.1:5432/test"


def _admin_url(dbname: str) -> str:
    return SERVICE.rsplit("/", 1)[0] + "/" + dbname


@contextmanager
def fresh_database() -> Iterator[str]:
    """A new empty database on the machine's service, dropped afterwards; fails loudly when the
    service is not there (CI must not skip these tests)."""
    name = f"frugal_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(SERVICE, autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        raise AssertionError(f"the PostgreSQL service at {SERVICE} is not reachable: {exc}") from exc
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _admin_url(name)
    finally:
        with psycopg.connect(SERVICE, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    path = found[-1] if found else shutil.which(name)
    assert path, f"{name} (the postgresql server package) is not installed"
    return path


class ThrowawayPostgres:
    """A PostgreSQL server on a free loopback port with its data in a temporary directory."""

    def __init__(self) -> None:
        from tests.support.redis_server import free_port

        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="frugal-pg-")
        self.data = os.path.join(self.dir, "data")
        self._as_root = os.geteuid() == 0
        if self._as_root:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run([_bin("initdb"), "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8"])

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, args: list[str]) -> None:
        if self._as_root:
            args = ["runuser", "-u", "postgres", "--", *args]
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)

    def start(self) -> ThrowawayPostgres:
        opts = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.dir} -c fsync=off"
        )
        self._run([_bin("pg_ctl"), "-D", self.data, "-o", opts, "-w", "-t", "30", "-l",
                   os.path.join(self.dir, "log"), "start"])  # fmt: skip
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                psycopg.connect(self.url, connect_timeout=1).close()
                return self
            except psycopg.Error:
                time.sleep(0.1)
        raise AssertionError("throwaway PostgreSQL did not start")

    def stop(self) -> None:
        self._run([_bin("pg_ctl"), "-D", self.data, "-m", "immediate", "-w", "stop"])

    def close(self) -> None:
        with suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

"""Real servers for tests, on 127.0.0.1 only and always stopped: PostgreSQL, and free ports.

PostgreSQL refuses to run as root, so when the tests run as root (CI containers) ``initdb`` and
``pg_ctl`` run as the ``postgres`` system user, in a temporary folder handed over to it.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PG_USER = "hpo"
PG_PASSWORD = "s3cret-pg-pw"  # tests check that it is never printed or stored


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_bin() -> Path:
    """The folder of Debian's PostgreSQL server programs (the test session installs the package when missing, see ``system_packages``)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: apt-get install postgresql (the test session does this when it runs tests marked postgres)")
    return Path(found[-1]).parent


@dataclass(frozen=True)
class PostgresServer:
    """A running server: ``url(db)`` gives the SQLAlchemy URL of one of its databases."""

    port: int
    folder: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{PG_USER}:{PG_PASSWORD}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """Start a throw-away PostgreSQL server on 127.0.0.1 and stop it (``-m immediate``) on exit."""
    bin_dir = postgres_bin()
    folder = Path(tempfile.mkdtemp(prefix="hpo-pg-"))  # under /tmp: reachable by the postgres user
    run_as: list[str] = []
    if os.geteuid() == 0:
        run_as = ["runuser", "-u", "postgres", "--"]
        account = pwd.getpwnam("postgres")
        os.chown(folder, account.pw_uid, account.pw_gid)
    data, password_file = folder / "data", folder / "password"
    _as_owner(run_as, ["sh", "-c", f"umask 077 && printf %s '{PG_PASSWORD}' > {password_file}"])
    started = False
    try:
        _as_owner(run_as, [str(bin_dir / "initdb"), "-D", str(data), "-U", PG_USER, f"--pwfile={password_file}",
                           "--auth=scram-sha-256", "--encoding=UTF8", "--no-sync"])  # fmt: skip
        for _ in range(5):  # the port may be taken between choosing and binding it
            port = free_port()
            options = f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={folder} -c fsync=off"
            result = subprocess.run([*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "log"),
                                     "-w", "-t", "60", "start"], capture_output=True, text=True)  # fmt: skip
            started = started or result.returncode == 0 or (data / "postmaster.pid").exists()
            if result.returncode == 0:
                break
        else:
            raise RuntimeError(f"PostgreSQL did not start: {(folder / 'log').read_text()[-2000:]}")
        yield PostgresServer(port, folder)
    finally:
        if started:
            subprocess.run([*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                           capture_output=True)  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)


def _as_owner(run_as: list[str], argv: list[str]) -> None:
    subprocess.run([*run_as, *argv], check=True, capture_output=True)

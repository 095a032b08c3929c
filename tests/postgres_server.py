"""A throwaway PostgreSQL server for the tests, and the fixtures that hand out databases.

`postgres` (session-wide) runs Debian's PostgreSQL binaries (`scripts/setup --test`
installs them) in a temporary directory: initdb, then a server on 127.0.0.1 at a free
port, removed when the run ends. PostgreSQL refuses to run as root, so under root the
server runs as `nobody`. Missing binaries FAIL the tests that need them (CI installs them;
a skip would hide a store that was never tested on PostgreSQL).

`store_url` gives each test a new empty database: once SQLite, once PostgreSQL (the
`postgres` marker: `pytest -m postgres` selects those, `-m "not postgres"` leaves them).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

INSTALL = "bash scripts/setup --test (it runs apt-get install -y postgresql)"


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    """A running server: `new_database()` makes an empty database and returns its URL
    (for ROLEPLAY_DATABASE_URL); `new_schema()` is the same in milliseconds instead of a
    second: an empty schema of one shared database, named in the URL's search_path."""

    port: int
    user: str = "roleplay"
    shared: str = "roleplay_tests"

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def _run(self, database: str, sql: str) -> None:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user={self.user} "
                             f"dbname={database}", autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]  # only names made here, never input

    def new_database(self) -> str:
        name = "t_" + uuid.uuid4().hex[:12]
        self._run("postgres", f'CREATE DATABASE "{name}"')
        return self.url(name)

    def new_schema(self) -> str:
        name = "t_" + uuid.uuid4().hex[:12]
        self._run(self.shared, f'CREATE SCHEMA "{name}"')
        return f"{self.url(self.shared)}?options=-csearch_path%3D{name}"


def start_postgres(root: Path) -> tuple[PostgresServer, list[str]]:
    """initdb and start a server in `root`; return it and the command that stops it."""
    bin_dir = _binaries()
    if bin_dir is None:
        pytest.fail(f"PostgreSQL's initdb and pg_ctl are not installed: {INSTALL}")
    data = root / "data"
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb and postgres refuse root
        shutil.chown(root, "nobody")
        as_user = ["runuser", "-u", "nobody", "--"]
    port = _free_port()
    try:
        subprocess.run([*as_user, str(bin_dir / "initdb"), "-D", str(data), "-U", "roleplay",
                        "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"],
                       check=True, capture_output=True, cwd=root)
        # fsync off: a test server need not survive a power cut, and it is much faster.
        options = (f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c max_connections=200")
        subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-l",
                        str(root / "server.log"), "-o", options, "-w", "-t", "60", "start"],
                       check=True, capture_output=True, cwd=root)
    except subprocess.CalledProcessError as err:
        logged = root / "server.log"
        log = logged.read_text(errors="replace") if logged.exists() else ""
        pytest.fail(f"could not start PostgreSQL: {err.cmd[len(as_user)]}: "
                    f"{(err.stderr or b'').decode(errors='replace')[-2000:]}\n{log[-2000:]}")
    stop = [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
    server = PostgresServer(port)
    server._run("postgres", f'CREATE DATABASE "{server.shared}"')
    return server, stop


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL server for the whole run, on 127.0.0.1 (removed after)."""
    root = Path(tempfile.mkdtemp(prefix="roleplay-pg-"))
    root.chmod(0o755)
    try:
        server, stop = start_postgres(root)
        try:
            yield server
        finally:
            subprocess.run(stop, check=False, capture_output=True, cwd=root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a new, empty database: SQLite in tmp_path, then PostgreSQL (a schema of
    its own in the test server's shared database)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite3'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.new_schema()

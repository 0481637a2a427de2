"""A throwaway PostgreSQL server for the tests: initdb into a temporary folder, listening only on a
Unix socket there, stopped and removed afterwards. Each pytest-xdist worker starts its own, so their
socket folders (and ports, which only name the socket file) never meet.

PostgreSQL refuses to run as root: when the tests run as root, initdb and pg_ctl run as the
`postgres` user (runuser, else su), and the folder is theirs."""

from __future__ import annotations

import os
import pwd
import re
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

SERVER_USER = "postgres"
START_TIMEOUT_SECONDS = 60
# Enough for several DuckDB processes (each holds a few catalog connections) plus a Dagster instance.
MAX_CONNECTIONS = 200


class PostgresUnavailable(RuntimeError):
    """initdb/pg_ctl are not installed, or there is no user to run them as."""


def server_bindir() -> Path:
    """The folder of initdb and pg_ctl: PATH first, else `pg_config --bindir` (Debian keeps them in
    /usr/lib/postgresql/<major>/bin, off PATH)."""
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).resolve().parent
    pg_config = shutil.which("pg_config")
    if pg_config:
        bindir = Path(subprocess.run([pg_config, "--bindir"], capture_output=True, text=True,
                                     check=True).stdout.strip())
        if (bindir / "initdb").exists():
            return bindir
    # Debian's pg_config may come from libpq-dev, of another major version than the server installed.
    installed = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3])
                       if p.parts[-3].isdigit() else 0)
    if installed:
        return installed[-1].parent
    raise PostgresUnavailable("PostgreSQL's initdb is neither on PATH nor in `pg_config --bindir`; "
                              "install the server (Debian: apt-get install postgresql)")


class PostgresServer:
    """One server; `create_database(name)` gives a libpq connection string to a new database."""

    def __init__(self, root: Path | None = None, port: int = 5432):
        self.bindir = server_bindir()
        self.as_other_user = os.geteuid() == 0
        if self.as_other_user:
            try:
                self.user = pwd.getpwnam(SERVER_USER)
            except KeyError as exc:
                raise PostgresUnavailable(f"running as root and there is no {SERVER_USER!r} user to run "
                                          "PostgreSQL as") from exc
        # Directly under the temp folder: pytest's own tmp folders are mode 0700 to root, which the
        # postgres user could not enter. Short, too: a Unix socket path has ~100 characters at most.
        self.root = Path(tempfile.mkdtemp(prefix="sp-pg-", dir=root))
        self.data_dir = self.root / "data"
        self.socket_dir = self.root
        self.port = port  # names the socket file (.s.PGSQL.<port>); libpq picks it by the port
        self.databases: list[str] = []
        self.running = False
        if self.as_other_user:
            os.chown(self.root, self.user.pw_uid, self.user.pw_gid)

    def _command(self, program: str, *args: str) -> list[str]:
        argv = [str(self.bindir / program), *args]
        if not self.as_other_user:
            return argv
        if shutil.which("runuser"):
            return ["runuser", "-u", SERVER_USER, "--", *argv]
        return ["su", SERVER_USER, "-s", "/bin/sh", "-c", shlex.join(argv)]

    def _run(self, program: str, *args: str) -> str:
        completed = subprocess.run(self._command(program, *args), capture_output=True, text=True)
        if completed.returncode != 0:
            raise RuntimeError(f"{program} {' '.join(args)} failed ({completed.returncode}): "
                               f"{completed.stderr.strip() or completed.stdout.strip()}")
        return completed.stdout

    def start(self) -> "PostgresServer":
        self._run("initdb", "-D", str(self.data_dir), "-U", SERVER_USER, "--auth=trust",
                  "--encoding=UTF8", "--no-sync")
        # No TCP at all: the socket folder alone is the address. Durability is traded for speed
        # (a throwaway server), never used outside the tests.
        options = (f"-k {self.socket_dir} -p {self.port} -c listen_addresses='' "
                   f"-c max_connections={MAX_CONNECTIONS} -c shared_buffers=16MB -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off")
        self._run("pg_ctl", "-D", str(self.data_dir), "-o", options, "-l", str(self.root / "server.log"),
                  "-w", "-t", str(START_TIMEOUT_SECONDS), "start")
        self.running = True
        return self

    def log(self) -> str:
        path = self.root / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def libpq(self, database: str = "postgres") -> str:
        """A libpq key=value connection string (DuckDB's ATTACH 'postgres:...' and psycopg take it)."""
        return f"host={self.socket_dir} port={self.port} user={SERVER_USER} dbname={database}"

    def create_database(self, name: str) -> str:
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            raise ValueError(f"database name {name!r}: lower-case letters, digits and _ only")
        self._run("createdb", "-h", str(self.socket_dir), "-p", str(self.port), "-U", SERVER_USER, name)
        self.databases.append(name)
        return self.libpq(name)

    def stop(self) -> None:
        if self.running:
            # immediate: the tests' connections may still be open; the data is thrown away anyway.
            subprocess.run(self._command("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop"),
                           capture_output=True, text=True)
            self.running = False
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "PostgresServer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

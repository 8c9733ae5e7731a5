"""A throwaway PostgreSQL cluster for tests: initdb into a temporary directory, pg_ctl start on
127.0.0.1 and a free port, stop and delete on exit. Needs Debian's `postgresql` package
(scripts/test-bindings.sh installs it). As root, the server runs as the `postgres` user
(PostgreSQL refuses to run as root).

    with throwaway_postgres() as conninfo:   # "host=127.0.0.1 port=… user=postgres dbname=postgres"
        ...

Run as a program (the Node.js tests do), it prints the conninfo line, keeps the cluster until
its standard input closes (or SIGTERM), then stops and deletes it:

    python3 scripts/throwaway_postgres.py    # stdout: host=127.0.0.1 port=… user=postgres dbname=postgres
"""

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile


def _bindir() -> str:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    if initdb:
        return os.path.dirname(initdb)
    raise RuntimeError("PostgreSQL is not installed: apt-get install postgresql (scripts/test-bindings.sh does)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def throwaway_postgres():
    bindir = _bindir()
    root = tempfile.mkdtemp(prefix="pii-edge-pg-")
    as_user = []
    if os.geteuid() == 0:
        import pwd

        pw = pwd.getpwnam("postgres")
        os.chown(root, pw.pw_uid, pw.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data = os.path.join(root, "data")
    port = _free_port()
    run = lambda *args: subprocess.run(as_user + list(args), check=True, capture_output=True)  # noqa: E731
    try:
        run(f"{bindir}/initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        run(
            f"{bindir}/pg_ctl", "-D", data, "-w", "-l", os.path.join(root, "log"),
            "-o", f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off", "start",
        )
        yield f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
    finally:
        subprocess.run(as_user + [f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def pg_bin(name: str) -> str:
    """The path of a PostgreSQL client program (pg_dump, psql) of the installed version."""
    return os.path.join(_bindir(), name)


if __name__ == "__main__":
    # SIGTERM and SIGINT unwind through the context manager, so the cluster is still removed.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: sys.exit(1))
    with throwaway_postgres() as conninfo:
        print(conninfo, flush=True)
        sys.stdin.read()

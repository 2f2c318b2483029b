"""Berka subsets as CSV directories, SQLite files (from berka_ddl.sql) and a real PostgreSQL server."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
# ../shared/datasets next to the repository (CI); SYNTHSTRUCT_DATASETS points elsewhere (git worktrees).
SHARED = Path(os.environ.get("SYNTHSTRUCT_DATASETS", REPO.parent / "shared" / "datasets"))
PG_BIN = Path(os.environ.get("SYNTHSTRUCT_PG_BIN", "/usr/lib/postgresql/15/bin"))
BERKA_TABLES = ("district", "account", "client", "disp", "loan", "card", "order")


def _berka_dir() -> Path:
    path = SHARED / "berka"
    if not path.is_dir():
        pytest.skip(f"{path} is not available")
    return path


def berka_subset(n_accounts: int) -> dict[str, pd.DataFrame]:
    """The first ``n_accounts`` accounts with every row that belongs to them (and all districts)."""
    src = _berka_dir()
    t = {name: pd.read_csv(src / f"{name}.csv") for name in BERKA_TABLES}
    account = t["account"].iloc[:n_accounts]
    disp = t["disp"][t["disp"].account_id.isin(account.account_id)]
    return {
        "district": t["district"],
        "account": account,
        "client": t["client"][t["client"].client_id.isin(disp.client_id)],
        "disp": disp,
        "loan": t["loan"][t["loan"].account_id.isin(account.account_id)],
        "card": t["card"][t["card"].disp_id.isin(disp.disp_id)],
        "order": t["order"][t["order"].account_id.isin(account.account_id)],
    }


def berka_ddl() -> list[str]:
    """The CREATE TABLE statements of berka_ddl.sql, without ``trans`` (its rows are not in the copy)."""
    text = (_berka_dir() / "berka_ddl.sql").read_text(encoding="utf-8")
    statements = [s.strip() for s in text.split(";") if s.strip()]
    return [s for s in statements if not re.match(r"CREATE TABLE trans\b", s)]


def _db_rows(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in ("date", "issued"):
        if col in out.columns:
            out[col] = pd.to_datetime(out[col]).dt.strftime("%Y-%m-%d %H:%M:%S")
    return out


def write_berka_sqlite(path: Path, tables: dict[str, pd.DataFrame]) -> Path:
    import sqlite3

    with sqlite3.connect(path) as conn:
        for statement in berka_ddl():
            conn.execute(statement)
        for name in BERKA_TABLES:
            _db_rows(tables[name]).to_sql(name, conn, if_exists="append", index=False)
    return path


@pytest.fixture(scope="session")
def berka_small() -> dict[str, pd.DataFrame]:
    return berka_subset(1500)


@pytest.fixture
def berka_csv_dir(tmp_path: Path, berka_small: dict[str, pd.DataFrame]) -> Path:
    out = tmp_path / "berka"
    out.mkdir()
    for name, frame in berka_small.items():
        frame.to_csv(out / f"{name}.csv", index=False)
    return out


@pytest.fixture
def berka_sqlite(tmp_path: Path, berka_small: dict[str, pd.DataFrame]) -> Path:
    return write_berka_sqlite(tmp_path / "berka.db", berka_small)


# ----------------------------------------------------------------------------- PostgreSQL
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    """A throw-away PostgreSQL cluster (initdb + pg_ctl) on a free port; password auth over TCP."""

    user = "synth"
    password = "s3cret-pw-for-tests"

    def __init__(self, root: Path) -> None:
        self.root, self.port = root, _free_port()
        self.data = root / "data"
        self._as: list[str] = []
        if os.geteuid() == 0:  # initdb refuses to run as root: use the postgres (or nobody) account
            account = "postgres" if shutil.which("runuser") and _user_exists("postgres") else "nobody"
            self._as = ["runuser", "-u", account, "--"]
            shutil.chown(root, user=account)
        pwfile = root / "pw"
        pwfile.write_text(self.password + "\n")
        if self._as:
            shutil.chown(pwfile, user=self._as[2])
        self._run([str(PG_BIN / "initdb"), "-D", str(self.data), "-U", self.user, f"--pwfile={pwfile}",
                   "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C"])
        self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(root / "log"), "-w", "-t", "60",
                   "-o", f"-p {self.port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off", "start"])

    def _run(self, cmd: list[str]) -> None:
        done = subprocess.run(self._as + cmd, capture_output=True, timeout=120, text=True)
        if done.returncode:
            raise RuntimeError(f"{Path(cmd[0]).name} failed ({done.returncode}): {done.stderr[-2000:]}")

    def url(self, database: str = "postgres", *, password: bool = False) -> str:
        auth = f"{self.user}:{self.password}" if password else self.user
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{database}"

    def execute(self, database: str, *statements: str) -> None:
        import psycopg

        with psycopg.connect(self.url(database, password=True), autocommit=True) as conn:
            for s in statements:
                conn.execute(s)

    def stop(self) -> None:
        subprocess.run(self._as + [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory):
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"PostgreSQL server binaries not found in {PG_BIN} (apt-get install postgresql; .ci/run does)")
    import tempfile

    # not under pytest's basetemp: that is private to the test user, and the server runs as another one
    root = Path(tempfile.mkdtemp(prefix="synthstruct-pg-"))
    os.chmod(root, 0o755)
    server = PostgresServer(root)
    deadline = time.time() + 30
    while True:
        try:
            server.execute("postgres", "select 1")
            break
        except Exception:
            if time.time() > deadline:
                raise
            time.sleep(0.3)
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def berka_postgres(postgres: PostgresServer, berka_small: dict[str, pd.DataFrame]) -> str:
    """A database ``berka`` loaded with berka_ddl.sql and the subset; returns its URL (no password)."""
    import psycopg

    postgres.execute("postgres", "create database berka")
    with psycopg.connect(postgres.url("berka", password=True)) as conn:
        for statement in berka_ddl():
            conn.execute(statement)
        for name in BERKA_TABLES:
            frame = _db_rows(berka_small[name])
            cols = ", ".join(f'"{c}"' for c in frame.columns)
            with conn.cursor().copy(f'COPY "{name}" ({cols}) FROM STDIN') as copy:
                for row in frame.itertuples(index=False):
                    copy.write_row([None if pd.isna(v) else v for v in row])
    return postgres.url("berka")


@pytest.fixture(scope="session")
def io_policy():
    """The default policy with every privacy and fidelity check turned into a warning (validity still
    blocks). For tests of reading, writing and keys on small subsets, where the per-table privacy checks
    are noisy; the gate's blocking is tested with the default policy."""
    from synthstruct.release.policy import load_policy

    policy, _text = load_policy("default")
    checks = [c.model_copy(update={"severity": "warn"}) if c.metric != "validity" else c for c in policy.checks]
    return policy.model_copy(update={"checks": checks, "name": "default-io-test"})

"""Where relational data comes from and goes to: a directory of CSV/Parquet files or any SQLAlchemy URL.

* ``read_source("data/berka/")``: one table per ``*.csv`` / ``*.parquet`` file (the file stem is the
  table name); no declared constraints.
* ``read_source("bank.db")`` or ``read_source("sqlite:///bank.db")``: a SQLite file.
* ``read_source("postgresql://user@host:5432/db?schema=public")``: a PostgreSQL database (psycopg 3).
  The password comes from the URL or, better, from ``PGPASSWORD`` / ``~/.pgpass`` (libpq reads them);
  ``SYNTHSTRUCT_DB_PASSWORD`` fills a URL without one. Every message shows the URL with the password
  masked (:func:`mask_url`), and a driver's error text is never echoed.

Declared primary and foreign keys are read with SQLAlchemy's inspector (:class:`Declared`).
:func:`write_database` writes synthetic tables with their keys and foreign keys recreated, all in one
transaction: a new SQLite file appears by an atomic rename; a PostgreSQL schema is created, filled and
committed together (DDL is transactional in PostgreSQL), so a failure leaves nothing behind.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthstruct._limits import check_tables_fit
from synthstruct.errors import DataFileError, InputError, Problem

__all__ = ["Declared", "Source", "check_target", "is_database_url", "is_relational_source", "mask_url", "read_source",
           "write_database"]

log = logging.getLogger(__name__)

_SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


@dataclass
class Declared:
    """Keys a database declares: table -> primary key column; (child, column, parent, parent column)."""

    primary_keys: dict[str, str] = field(default_factory=dict)
    foreign_keys: list[tuple[str, str, str, str]] = field(default_factory=list)


@dataclass
class Source:
    """Tables read from a source, the keys it declares, and a label safe to print."""

    tables: dict[str, pd.DataFrame]
    declared: Declared | None
    label: str


def mask_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (safe for messages and reports)."""
    text = re.sub(r"(://[^:/@?#]*):[^@/?#]*@", r"\1:***@", str(url))
    return re.sub(r"(?i)(password=)[^&;\s]*", r"\1***", text)


def is_database_url(text: str) -> bool:
    return bool(_URL.match(str(text)))


def is_relational_source(text: str | Path) -> bool:
    """Whether ``text`` names a directory, a SQLite file or a database URL (not one CSV/Parquet file)."""
    text = str(text)
    if is_database_url(text):
        return True
    path = Path(text)
    return path.is_dir() or path.suffix.lower() in _SQLITE_SUFFIXES


def _url_of(text: str) -> str:
    if is_database_url(text):
        return text
    return f"sqlite:///{Path(text).resolve()}"


def _engine(url: str, *, must_exist: bool = True):  # noqa: ANN202 - sqlalchemy Engine
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    masked = mask_url(url)
    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - sqlalchemy raises several types for a malformed URL
        raise InputError("invalid database URL", [Problem(masked, "cannot be parsed as a database URL",
                                                          "use e.g. postgresql://user@host:5432/db or "
                                                          "sqlite:///file.db")]) from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise InputError("unsupported database", [Problem(masked, f"backend {backend!r} is not supported",
                                                          "use SQLite or PostgreSQL")])
    if backend == "postgresql":
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        if parsed.password is None and os.environ.get("SYNTHSTRUCT_DB_PASSWORD"):
            parsed = parsed.set(password=os.environ["SYNTHSTRUCT_DB_PASSWORD"])
        query = dict(parsed.query)
        query.pop("schema", None)
        parsed = parsed.set(query=query)
    elif must_exist:
        path = parsed.database
        if not path or not Path(path).is_file():
            raise DataFileError("database file not found", [Problem(Path(path or "?").name, "does not exist",
                                                                    "check the path")], source=path)
    return sa.create_engine(parsed, future=True, pool_pre_ping=False)


def _schema_param(url: str) -> str | None:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).query.get("schema")  # type: ignore[return-value]
    except Exception:  # noqa: BLE001 - a URL that does not parse has no schema
        return None


def _db_error(url: str, exc: Exception, action: str) -> DataFileError:
    """A typed error for a failing database call: the masked URL and the error class, never driver text
    (drivers may quote a password or a row)."""
    orig = getattr(exc, "orig", None) or exc
    reason = type(orig).__name__
    hint = "check that the server is running and reachable, the user and password (PGPASSWORD), and the database name"
    if "password" in str(orig).lower() or "authentication" in str(orig).lower():
        reason += " (authentication failed)"
        hint = "check the user name and the password in PGPASSWORD / ~/.pgpass / SYNTHSTRUCT_DB_PASSWORD"
    return DataFileError(f"cannot {action}", [Problem(mask_url(url), f"database error {reason}", hint)],
                         source=mask_url(url))


def read_source(source: str | Path, *, tables: list[str] | None = None) -> Source:
    """Read every table (or ``tables``) from a directory, a SQLite file or a database URL.

    Raises:
        DataFileError: missing directory/file, no tables, a requested table missing, unreachable
            database or wrong credentials (the password is never shown).
    """
    text = str(source)
    path = Path(text)
    if not is_database_url(text) and path.is_dir():
        return _read_directory(path, tables)
    if not is_database_url(text) and not path.exists():
        raise DataFileError("source not found", [Problem(path.name, "does not exist",
                                                         "pass a directory of CSV/Parquet files, a SQLite file "
                                                         "or a database URL")], source=text)
    url = _url_of(text)
    engine = _engine(url)
    db_schema = _schema_param(url)
    import sqlalchemy as sa

    try:
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            names = inspector.get_table_names(schema=db_schema)
            wanted = list(tables) if tables else sorted(names)
            missing = [t for t in wanted if t not in names]
            if missing:
                raise DataFileError("table not found", [Problem(f"table {t!r}", "is not in the database",
                                                                "check the name (and ?schema= in the URL)")
                                                        for t in missing], source=mask_url(url))
            if not wanted:
                raise DataFileError("no tables", [Problem(mask_url(url), "the database has no tables",
                                                          "check the database (and ?schema= in the URL)")])
            declared = Declared()
            problems: list[Problem] = []
            for table in wanted:
                pk = inspector.get_pk_constraint(table, schema=db_schema).get("constrained_columns") or []
                if len(pk) > 1:
                    problems.append(Problem(f"table {table!r}", "has a composite primary key",
                                            "add a single-column surrogate key (composite keys are not supported)"))
                elif pk:
                    declared.primary_keys[table] = pk[0]
                for fk in inspector.get_foreign_keys(table, schema=db_schema):
                    cols, ref_cols = fk.get("constrained_columns") or [], fk.get("referred_columns") or []
                    if len(cols) != 1 or len(ref_cols) != 1:
                        problems.append(Problem(f"table {table!r}", "has a composite foreign key",
                                                "reference a single-column key"))
                        continue
                    if fk.get("referred_table") in wanted:
                        declared.foreign_keys.append((table, cols[0], fk["referred_table"], ref_cols[0]))
            if problems:
                raise InputError("unsupported keys", problems, source=mask_url(url))
            sizes = {}
            for table in wanted:  # a child table larger than memory is refused before a row is read
                tab = sa.Table(table, sa.MetaData(), autoload_with=conn, schema=db_schema)
                count = conn.execute(sa.select(sa.func.count()).select_from(tab)).scalar_one()
                sizes[table] = (int(count), len(tab.columns))
            check_tables_fit(sizes, source=mask_url(url))
            frames = {}
            for table in wanted:
                meta = sa.MetaData()
                tab = sa.Table(table, meta, autoload_with=conn, schema=db_schema)
                frames[table] = pd.read_sql(sa.select(tab), conn)
    except InputError:
        raise
    except Exception as exc:  # sqlalchemy / driver errors: typed, masked, no driver text
        if type(exc).__module__.split(".")[0] in ("sqlalchemy", "psycopg", "sqlite3"):
            raise _db_error(url, exc, "read the database") from None
        raise
    finally:
        engine.dispose()
    log.info("read %d tables from %s", len(frames), mask_url(url))
    return Source(tables=frames, declared=declared, label=mask_url(url))


def _file_shape(path: Path) -> tuple[int, int]:
    """(rows, columns) of a table file without reading it: Parquet's footer, or for CSV an estimate of
    one cell per 8 bytes on disk (reported as rows x 1 column)."""
    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            import pyarrow.parquet as pq

            meta = pq.ParquetFile(path).metadata
            return int(meta.num_rows), int(meta.num_columns)
        except Exception:  # noqa: BLE001 - a broken file is reported by read_table with its own typed error
            return 0, 0
    try:
        return max(1, path.stat().st_size // 8), 1
    except OSError:
        return 0, 0


def _read_directory(path: Path, tables: list[str] | None) -> Source:
    from synthstruct.dataio import read_table, table_name_for

    files = sorted(p for p in path.iterdir() if p.suffix.lower() in (".csv", ".parquet", ".pq"))
    by_name = {table_name_for(p): p for p in files}
    if tables:
        missing = [t for t in tables if t not in by_name]
        if missing:
            raise DataFileError("table not found", [Problem(f"table {t!r}", "has no .csv/.parquet file",
                                                            "check the name") for t in missing], source=str(path))
        by_name = {t: by_name[t] for t in tables}
    if not by_name:
        raise DataFileError("no tables", [Problem(path.name, "holds no .csv or .parquet files",
                                                  "put one file per table in the directory")], source=str(path))
    check_tables_fit({name: _file_shape(p) for name, p in by_name.items()}, source=str(path))
    return Source(tables={name: read_table(p) for name, p in by_name.items()}, declared=None, label=str(path))


# ---------------------------------------------------------------------------- writing
def _sql_type(frame: pd.DataFrame, column: str, kind: str, dtype: str | None):  # noqa: ANN202
    import sqlalchemy as sa

    series = frame[column]
    if kind == "id" or (kind == "numerical" and dtype == "int"):
        numeric = pd.to_numeric(series, errors="coerce")
        if series.notna().sum() == numeric.notna().sum() and (numeric.dropna() % 1 == 0).all():
            return sa.BigInteger()
        return sa.Text()
    if kind == "numerical":
        return sa.Float()
    if kind == "datetime":
        return sa.DateTime()
    if kind == "boolean":
        return sa.Boolean()
    if pd.api.types.is_integer_dtype(series):
        return sa.BigInteger()
    return sa.Text()


def _python_rows(frame: pd.DataFrame, types: dict[str, Any]) -> list[dict[str, Any]]:
    import sqlalchemy as sa

    out = {}
    for col in frame.columns:
        series = frame[col]
        if isinstance(types[col], sa.DateTime):
            values = pd.to_datetime(series, errors="coerce")
            out[col] = [None if pd.isna(v) else v.to_pydatetime() for v in values]
        elif isinstance(types[col], sa.BigInteger):
            out[col] = [None if pd.isna(v) else int(v) for v in series]
        elif isinstance(types[col], sa.Float):
            out[col] = [None if pd.isna(v) else float(v) for v in series]
        elif isinstance(types[col], sa.Boolean):
            out[col] = [None if pd.isna(v) else bool(v) for v in series]
        else:
            out[col] = [None if (v is None or (isinstance(v, float) and pd.isna(v))) else str(v) for v in series]
    names = list(frame.columns)
    return [dict(zip(names, row)) for row in zip(*(out[c] for c in names))] if len(frame) else []


def check_target(url: str, *, db_schema: str | None = None) -> None:
    """Fail early (before any fitting) when the output database file or PostgreSQL schema exists.

    Raises:
        DataFileError: the target exists or the server cannot be reached (password masked).
    """
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    url = _url_of(url)
    if make_url(url).get_backend_name() == "sqlite":
        target = Path(make_url(url).database or "")
        if target.exists():
            raise DataFileError("output database exists", [Problem(target.name, "already exists",
                                                                   "choose a new file name")], source=str(target))
        return
    engine = _engine(url)
    name = db_schema or _schema_param(url) or "synthetic"
    try:
        with engine.connect() as conn:
            exists = conn.execute(sa.text("select 1 from information_schema.schemata where schema_name = :s"),
                                  {"s": name}).first()
    except Exception as exc:
        if type(exc).__module__.split(".")[0] in ("sqlalchemy", "psycopg", "sqlite3"):
            raise _db_error(url, exc, "reach the output database") from None
        raise
    finally:
        engine.dispose()
    if exists:
        raise DataFileError("output schema exists", [Problem(f"schema {name!r}", "already exists in the target "
                                                             "database", "choose another --to-schema or drop it")],
                            source=mask_url(url))


def write_database(url: str, frames: dict[str, pd.DataFrame], schema: Any, *, db_schema: str | None = None) -> str:
    """Write ``frames`` (table -> synthetic rows in output form) with keys and foreign keys, atomically.

    Args:
        url: ``sqlite:///new.db`` (or a path ending in .db/.sqlite; the file must not exist) or a
            PostgreSQL URL.
        frames: Table -> frame, in the relational schema's tables.
        schema: The :class:`~synthstruct.relational.model.RelationalSchema`.
        db_schema: PostgreSQL schema to create (must not exist); default ``?schema=`` of the URL or
            ``synthetic``.

    Returns:
        Where the tables went (masked URL, plus the PostgreSQL schema).

    Raises:
        DataFileError: the target exists, or the database refused (nothing is left behind).
    """
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    url = _url_of(url)
    masked = mask_url(url)
    backend = make_url(url).get_backend_name() if is_database_url(url) else "sqlite"
    order = [t for t in _table_order(schema) if t in frames]
    if backend == "sqlite":
        target = Path(make_url(url).database or "")
        if target.exists():
            raise DataFileError("output database exists", [Problem(target.name, "already exists",
                                                                   "choose a new file name")], source=str(target))
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        os.close(fd)
        tmp = Path(tmp_name)
        tmp.unlink()
        engine = sa.create_engine(f"sqlite:///{tmp}", future=True)
        sa_schema = None
    else:
        engine = _engine(url)
        sa_schema = db_schema or _schema_param(url) or "synthetic"
        tmp = target = None
    try:
        meta = sa.MetaData(schema=sa_schema)
        tables = {}
        for name in order:
            frame = frames[name]
            sch = schema.schema_of(name)
            types = {c: _sql_type(frame, c, sch.columns[c].kind, getattr(sch.columns[c], "dtype", None))
                     for c in frame.columns}
            cols = []
            for c in frame.columns:
                fks = [r for r in schema.relationships if r.child == name and r.child_column == c and r.parent in order]
                args = [sa.ForeignKey(f"{sa_schema + '.' if sa_schema else ''}{fks[0].parent}.{fks[0].parent_column}")] if fks else []
                cols.append(sa.Column(c, types[c], *args, primary_key=(c == sch.primary_key)))
            tables[name] = (sa.Table(name, meta, *cols), types)
        with engine.begin() as conn:
            if sa_schema is not None:
                exists = conn.execute(sa.text("select 1 from information_schema.schemata where schema_name = :s"),
                                      {"s": sa_schema}).first()
                if exists:
                    raise DataFileError("output schema exists", [Problem(
                        f"schema {sa_schema!r}", "already exists in the target database",
                        "choose another --to-schema or drop it")], source=masked)
                conn.execute(sa.schema.CreateSchema(sa_schema))
            meta.create_all(conn)
            for name in order:
                table, types = tables[name]
                frame = frames[name]
                own = schema.self_reference(name) if hasattr(schema, "self_reference") else None
                if own is not None and len(frame):  # parents before their children: foreign keys hold per row
                    from synthstruct.relational.frames import hierarchy_depth, norm_keys

                    depth = hierarchy_depth(norm_keys(frame[own.parent_column]), norm_keys(frame[own.child_column]),
                                            table=name, column=own.child_column)
                    frame = frame.iloc[np.argsort(depth, kind="stable")]
                rows = _python_rows(frame, types)
                if rows:
                    conn.execute(table.insert(), rows)
        if backend == "sqlite":
            os.replace(tmp, target)
    except DataFileError:
        raise
    except Exception as exc:
        if type(exc).__module__.split(".")[0] in ("sqlalchemy", "psycopg", "sqlite3"):
            raise _db_error(url, exc, "write the synthetic tables") from None
        raise
    finally:
        engine.dispose()
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
    where = masked if sa_schema is None else f"{masked} (schema {sa_schema})"
    log.info("wrote %d tables to %s", len(order), where)
    return where


def _table_order(schema: Any) -> list[str]:
    refs = [t for t, s in schema.tables.items() if s.reference]
    return sorted(refs) + schema.synthesized()

"""Up-front resource checks, so a hopeless run fails in a second instead of after an hour.

:func:`check_rows` refuses a row count that is not positive or whose table would not fit in the
memory this machine has available (estimated as rows x columns x :data:`BYTES_PER_CELL`);
:func:`check_tables_fit` does the same for the real tables of a multi-table release before they are read.
"""

from __future__ import annotations

import os

from synthstruct.errors import InputError, Problem

__all__ = ["BYTES_PER_CELL", "available_memory", "check_rows", "check_tables_fit"]

#: Working memory per generated cell: the engine's float matrix, the decoded frame (object
#: columns), the output copy and the gate's encodings (a deliberate over-estimate).
BYTES_PER_CELL = 160


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (``MemAvailable``), or ``None`` when unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):  # pragma: no cover - non-POSIX
        return None


def _gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB"


def check_rows(rows: int | None, columns: int, *, option: str = "--rows/-n") -> None:
    """Refuse ``rows`` < 1 or a table that would not fit in the available memory.

    Args:
        rows: Rows asked for (``None``: the default, always accepted).
        columns: Columns of the table to generate.
        option: The option name shown in the message.

    Raises:
        InputError: naming the option, the estimate and the fix.
    """
    if rows is None:
        return
    if rows < 1:
        raise InputError("invalid number of rows", [Problem(option, f"must be at least 1 (got {rows})",
                                                             "ask for one row or more")])
    need = rows * max(columns, 1) * BYTES_PER_CELL
    have = available_memory()
    if have is not None and need > have:
        raise InputError("not enough memory for the rows asked for", [Problem(
            option, f"{rows} rows x {columns} columns need about {_gib(need)}; {_gib(have)} is available",
            f"ask for at most {max(1, have // (max(columns, 1) * BYTES_PER_CELL))} rows, or sample in "
            "several runs with different seeds")])


def check_tables_fit(sizes: dict[str, tuple[int, int]], *, source: str,
                     available: int | None = None) -> None:
    """Refuse tables (name -> (rows, columns)) whose release would not fit in the available memory.

    A multi-table release holds every real table, its synthetic twin and the gate's encodings at
    once, so the estimate is the sum of rows x columns x :data:`BYTES_PER_CELL` over the tables.

    Raises:
        InputError: naming the largest tables and their estimate (never a value), with the fix.
    """
    have = available_memory() if available is None else available
    if have is None:
        return
    need = {name: rows * max(cols, 1) * BYTES_PER_CELL for name, (rows, cols) in sizes.items()}
    if sum(need.values()) <= have:
        return
    largest = sorted(need, key=need.__getitem__, reverse=True)[:3]
    raise InputError("the tables do not fit in memory", [Problem(
        f"table {name!r}", f"{sizes[name][0]} rows x {sizes[name][1]} columns need about {_gib(need[name])} "
        f"(all tables {_gib(sum(need.values()))}; {_gib(have)} is available)",
        "release an extract (fewer root entities and their rows), a database with fewer tables, or a single "
        "huge table with 'release FILE --cluster'") for name in largest], source=source)

"""Shared CLI helpers: error reporting and exit codes."""

from __future__ import annotations

import functools
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

import typer
from rich.console import Console

from synthstruct.errors import InputError, SynthstructError

__all__ = ["console", "err_console", "handle_errors", "print_bundle_verdict", "step_progress"]

console = Console()
err_console = Console(stderr=True, highlight=False)
F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(fn: F) -> F:
    """Turn synthstruct errors into a readable message and the documented exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except InputError as exc:
            err_console.print(f"[bold red]error:[/] {type(exc).__name__}: ", end="")
            err_console.print(str(exc), markup=False, soft_wrap=True)
            raise typer.Exit(code=2) from None
        except SynthstructError as exc:
            err_console.print(f"[bold red]error:[/] {type(exc).__name__}: ", end="")
            err_console.print(str(exc), markup=False, soft_wrap=True)
            raise typer.Exit(code=exc.exit_code) from None

    return wrapper  # type: ignore[return-value]


@contextmanager
def step_progress(title: str) -> Iterator[Callable[[str, int, int], None]]:
    """A rich progress bar driven by ``callback(step, done, total)`` (on stderr, hidden when not a TTY)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[step]}"), TimeElapsedColumn(), console=err_console,
                  transient=True) as progress:
        task = progress.add_task(title, total=None, step="")

        def update(step: str, done: int, total: int) -> None:
            progress.update(task, completed=done, total=total, step=step)

        yield update


def print_bundle_verdict(passed: bool, output: Path, *, written: str) -> None:
    """One line on a written bundle: ``{written} → DIR (...)`` when it passed, else where the reasons are."""
    if passed:
        console.print(f"[bold green]{written}[/] → {output} (data/, report.html, report.json, manifest.json)")
    else:
        console.print(f"[bold red]blocked[/]: no data written; reasons in {output / 'report.html'}")

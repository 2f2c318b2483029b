"""Shared CLI helpers: error reporting and exit codes."""

from __future__ import annotations

import functools
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

import typer
from rich.console import Console

from synthstruct.errors import InputError, Problem, SynthstructError

__all__ = ["console", "err_console", "handle_errors", "print_bundle_verdict", "print_notes", "progress_bars", "step_progress"]

console = Console()
err_console = Console(stderr=True, highlight=False)
F = TypeVar("F", bound=Callable[..., Any])


def engine_help(*, without: tuple[str, ...] = ()) -> str:
    """``--engine`` help from the engine registry: the default first, then the others (plugins too)."""
    from synthstruct._registry import DEFAULT_ENGINE, ENGINES

    others = [n for n in ENGINES.names() if n != DEFAULT_ENGINE and n not in without]
    return ", ".join([f"{DEFAULT_ENGINE} (default)", *others]) + "."


def handle_errors(fn: F) -> F:
    """Turn every error into a readable message and the documented exit code; never a traceback.

    Synthstruct errors print as they are (exit 2 for bad input, their own code otherwise); an
    :class:`OSError` becomes a :class:`~synthstruct.errors.FileAccessError` naming the path (exit 2);
    running out of memory exits 2 with advice; Ctrl-C exits 130. Any other exception is a bug: only
    its type is printed (its message could quote data), exit 3, and ``SYNTHSTRUCT_DEBUG=1`` shows the
    traceback.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import click
        import sys

        previous_hook = sys.unraisablehook
        sys.unraisablehook = _unraisable
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, click.exceptions.Exit, click.exceptions.ClickException,
                click.exceptions.Abort):
            raise
        except InputError as exc:
            _print_error(exc)
            raise typer.Exit(code=2) from None
        except SynthstructError as exc:
            _print_error(exc)
            raise typer.Exit(code=exc.exit_code) from None
        except OSError as exc:
            from synthstruct.errors import file_access_error

            _print_error(file_access_error(exc))
            raise typer.Exit(code=2) from None
        except MemoryError:
            _print_error(InputError("out of memory", [Problem(
                "memory", "the run needs more memory than this machine has",
                "generate fewer rows (-n), use fewer columns, or run on a larger machine")]))
            raise typer.Exit(code=2) from None
        except KeyboardInterrupt as exc:
            err_console.print("[bold red]interrupted[/]: nothing was written")
            print_notes(exc)
            raise typer.Exit(code=130) from None
        except RecursionError:
            _print_error(InputError("input nested too deeply", [Problem(
                "input", "is nested too deeply to process", "simplify the file")]))
            raise typer.Exit(code=2) from None
        except Exception as exc:  # the last line of defence: no traceback reaches a user
            import os

            if os.environ.get("SYNTHSTRUCT_DEBUG"):
                raise
            err_console.print(f"[bold red]internal error:[/] {type(exc).__name__} (its message is not shown: it "
                              "could quote your data). Nothing was released. Rerun with SYNTHSTRUCT_DEBUG=1 to "
                              "see the traceback, and report it.", soft_wrap=True)
            raise typer.Exit(code=3) from None
        finally:
            sys.unraisablehook = previous_hook

    return wrapper  # type: ignore[return-value]


def _unraisable(unraisable: Any) -> None:
    """``sys.unraisablehook`` while a command runs: an exception Python cannot raise (one from a ``__del__``
    during garbage collection) would print a traceback. A Ctrl-C that lands there is handed back to the main
    thread, so the run still stops with exit 130 and no traceback; any other is named in one line (type only:
    its message could quote data), or shown in full with ``SYNTHSTRUCT_DEBUG=1``."""
    import _thread
    import os
    import sys
    import threading

    if unraisable.exc_type is not None and issubclass(unraisable.exc_type, KeyboardInterrupt):
        # from another thread, a moment later: an interrupt raised inside this hook would be lost the same way
        timer = threading.Timer(0.05, _thread.interrupt_main)
        timer.daemon = True
        timer.start()
        return
    if os.environ.get("SYNTHSTRUCT_DEBUG"):
        sys.__unraisablehook__(unraisable)
        return
    name = getattr(unraisable.exc_type, "__name__", "error")
    err_console.print(f"[yellow]warning:[/] an error during clean-up was ignored ({name})", soft_wrap=True)


def _print_error(exc: BaseException) -> None:
    err_console.print(f"[bold red]error:[/] {type(exc).__name__}: ", end="")
    err_console.print(str(exc), markup=False, soft_wrap=True)
    print_notes(exc)


def print_notes(exc: BaseException) -> None:
    """Print the notes added to ``exc`` on its way up (e.g. how to resume an interrupted run)."""
    for note in getattr(exc, "__notes__", ()):
        err_console.print("[bold]note:[/] ", end="")
        err_console.print(str(note), markup=False, soft_wrap=True)


@contextmanager
def step_progress(title: str) -> Iterator[Callable[[str, int, int], None]]:
    """A rich progress bar driven by ``callback(step, done, total)`` (on stderr, hidden when not a TTY)."""
    with progress_bars(title) as (on_step, _on_text):
        yield on_step


@contextmanager
def progress_bars(title: str, *, console: Console | None = None) -> Iterator[
        tuple[Callable[[str, int, int], None], Callable[[str, int, int], None]]]:
    """Pipeline steps plus one bar per generated text column, on stderr (nothing when not a TTY).

    Yields:
        ``(on_step, on_text)``: ``on_step(step, done, total)`` drives the step bar;
        ``on_text(column, texts_done, texts_total)`` adds (first call) and drives a ``text: COLUMN``
        bar with the time remaining.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[step]}"), TimeElapsedColumn(), _remaining_column(),
                  console=console or err_console, transient=True) as progress:
        task = progress.add_task(title, total=None, step="", eta=False)
        text_tasks: dict[str, Any] = {}

        def on_step(step: str, done: int, total: int) -> None:
            progress.update(task, completed=done, total=total, step=step)

        def on_text(column: str, done: int, total: int) -> None:
            if column not in text_tasks:
                text_tasks[column] = progress.add_task(f"  text: {column}", total=total, completed=done, step="texts",
                                                       eta=True)
            progress.update(text_tasks[column], completed=done, total=total)

        yield on_step, on_text


def _remaining_column() -> Any:
    """Time remaining, shown only for tasks with ``eta=True`` (steps of unequal length have none)."""
    from rich.progress import TimeRemainingColumn
    from rich.text import Text

    class _Remaining(TimeRemainingColumn):
        def render(self, task: Any) -> Text:
            return super().render(task) if task.fields.get("eta") else Text("")

    return _Remaining()


def print_bundle_verdict(passed: bool, output: Path, *, written: str) -> None:
    """One line on a written bundle: ``{written} → DIR (...)`` when it passed, else where the reasons are."""
    if passed:
        console.print(f"[bold green]{written}[/] → {output} (data/, report.html, report.json, manifest.json)")
    else:
        console.print(f"[bold red]blocked[/]: no data written; reasons in {output / 'report.html'}")

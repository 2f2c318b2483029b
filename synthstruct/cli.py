"""The ``synthstruct`` command line (thin: each verb lives in ``synthstruct/_cli/<verb>.py``).

Exit codes: 0 success / released, 1 blocked by the release gate, 2 bad input or usage.
"""

from __future__ import annotations

import logging
import os
import sys

import typer

from synthstruct._cli import audit, demo, fit_sample, generate, infer, release_cmd, release_dask, scan
from synthstruct._cli import balance as balance_cmd
from synthstruct._cli import relational as relational_cmd
from synthstruct._cli import verify as verify_cmd

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# transformers' own tqdm bars ("Loading weights ...") would interleave with the command's progress display on
# stderr; transformers reads this when it is first imported (a user's own setting wins)
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

app = typer.Typer(
    name="synthstruct",
    help="Synthetic tables that are safe to share, with a release gate that proves it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress details to stderr.")) -> None:
    level = logging.INFO if verbose else logging.WARNING
    if sys.stderr.isatty():  # log through the progress bars' console so lines do not tear the bars
        from rich.logging import RichHandler

        from synthstruct._cli._common import err_console

        logging.basicConfig(level=level, format="%(name)s: %(message)s", handlers=[RichHandler(
            console=err_console, show_time=False, show_path=False, markup=False)])
    else:
        logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


app.command("infer", help="Propose a schema (commented YAML) from a data file.")(infer.infer)
app.command("release", help="Split, fit, sample, gate and write a release bundle.")(release_cmd.release)
app.command("release-dask", help="Same as release --cluster (default local): a table larger than one machine on Dask.")(
    release_dask.release_dask)
app.command("fit", help="Fit a synthesizer and save it to a model directory.")(fit_sample.fit)
app.command("sample", help="Sample rows from a saved model directory.")(fit_sample.sample)
app.command("balance", help="Add synthetic rows of rare classes, with proof of lift and per-class privacy.")(
    balance_cmd.balance)
app.command("generate", help="Generate records from a schema pack's priors and rules (no data needed).")(generate.generate)
app.command("scan", help="Find personal data: column verdicts and spans in free text.")(scan.scan)
app.command("audit", help="Audit synthetic data from any generator against the real data.")(audit.audit)
app.command("verify", help="Re-check the sha256 of every file in a release bundle.")(verify_cmd.verify)
app.command("release-db", help="Release a whole database: several tables with keys (CSV/Parquet directory, "
            "SQLite, PostgreSQL).")(relational_cmd.release_db)
app.command("infer-db", help="Propose a relational schema (keys, relationships) from a directory or database.")(
    relational_cmd.infer_db)
app.command("generate-db", help="Generate a database from a relational pack's priors, children counts and "
            "sequences (no data needed).")(relational_cmd.generate_db)
app.command("demo", help="Run the whole path on the bundled demo datasets.")(demo.demo)


def main() -> None:
    """Console-script entry point."""
    from synthstruct._light_imports import install

    install()  # the PII scanner's imports skip torch / transformers (seconds of every cold start)
    try:
        app()
    except SystemExit as exc:
        if exc.code == 130:
            _exit_interrupted()
        raise


def _exit_interrupted() -> None:
    """Exit 130 after Ctrl-C (the message is printed, nothing was written). Python itself would end the process
    by SIGINT instead (exit -2 in CI, after the message) when the interrupt passed through C code that marks it
    unhandled, so the exit handlers run here and the process ends with 130 directly."""
    import atexit
    import os
    import sys

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()

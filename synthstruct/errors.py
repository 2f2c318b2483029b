"""The one exception tree of synthstruct.

Every error the package raises on purpose derives from :class:`SynthstructError`, and where an error
refines a builtin it inherits that builtin too (``except ValueError`` keeps working)::

    SynthstructError
    ├── InputError (ValueError)                bad input from the user; CLI exit code 2
    │   ├── DataFileError                      missing, unreadable or unsupported data file
    │   ├── DataValidationError                the table breaks the schema or basic sanity rules
    │   ├── SchemaError                        a schema YAML (or object) is invalid
    │   ├── PolicyError                        a release policy YAML is invalid
    │   ├── FileAccessError                    a file cannot be read or written (permissions, disk full, ...)
    │   └── ModelIntegrityError                a saved model's files changed or are not ours
    ├── NotFittedError (ValueError, AttributeError)   a synthesizer used before ``fit``
    ├── EngineError (RuntimeError)             a generation backend failed
    └── ReleaseBlockedError                    the release gate blocked; carries the report; exit 1

Privacy rule: no message built here ever contains a cell value. Problems name the file, the column
(or YAML path) and the problem, and say how to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "DataFileError",
    "DataValidationError",
    "EngineError",
    "FileAccessError",
    "InputError",
    "ModelIntegrityError",
    "file_access_error",
    "NotFittedError",
    "PolicyError",
    "Problem",
    "ReleaseBlockedError",
    "SchemaError",
    "SynthstructError",
]


@dataclass(frozen=True)
class Problem:
    """One problem found while validating input.

    Attributes:
        location: Where the problem is: a column name, a YAML path such as ``columns.age.min``,
            or a file name.
        message: What is wrong, without any cell value.
        fix: How to fix it.
    """

    location: str
    message: str
    fix: str = ""

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}"
        return f"{text} (fix: {self.fix})" if self.fix else text

    def to_dict(self) -> dict[str, str]:
        return {"location": self.location, "message": self.message, "fix": self.fix}


class SynthstructError(Exception):
    """Root of every error synthstruct raises on purpose."""

    exit_code: int = 3


class InputError(SynthstructError, ValueError):
    """Bad input from the user: a file, a schema, a policy, a parameter.

    Args:
        message: Summary line.
        problems: Every problem found (validation collects them all and raises once).
        source: The file the problems are in, when there is one.
    """

    exit_code = 2

    def __init__(
        self, message: str, problems: list[Problem] | None = None, *, source: str | None = None
    ) -> None:
        self.summary = message
        self.problems: list[Problem] = list(problems or [])
        self.source = source
        super().__init__(self._render())

    def _render(self) -> str:
        head = f"{self.source}: {self.summary}" if self.source else self.summary
        if not self.problems:
            return head
        lines = [f"{head} ({len(self.problems)} problem{'s' if len(self.problems) != 1 else ''})"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "error": type(self).__name__,
            "message": self.summary,
            "source": self.source,
            "problems": [p.to_dict() for p in self.problems],
        }


class DataFileError(InputError):
    """A data file is missing, unreadable, empty or in an unsupported format."""


class DataValidationError(InputError):
    """The data breaks the schema or a basic sanity rule (all problems listed at once)."""


class SchemaError(InputError):
    """A schema is invalid: unknown keys, wrong types, contradictions (all listed with YAML paths)."""


class PolicyError(InputError):
    """A release policy is invalid."""


class FileAccessError(InputError):
    """A file or folder cannot be read or written: permissions, a read-only mount, a full disk.

    Built from an :class:`OSError` by :func:`file_access_error`; names the path, never file content.
    """


_ERRNO_WORDS = {
    "ENOSPC": ("no space left on the device", "free disk space or write to another folder"),
    "EDQUOT": ("disk quota exceeded", "free disk space or write to another folder"),
    "EROFS": ("is on a read-only file system", "write to a writable folder"),
    "EACCES": ("permission denied", "check the permissions or choose another path"),
    "EPERM": ("operation not permitted", "check the permissions or choose another path"),
    "ENOENT": ("no such file or folder", "check the path (create the folder first)"),
    "ENOTDIR": ("a part of the path is a file, not a folder", "choose a path inside a folder"),
    "EISDIR": ("is a folder, not a file", "pass a file path"),
    "ELOOP": ("too many symbolic links", "do not point the path at a symbolic link"),
    "EEXIST": ("already exists", "choose another path or pass --overwrite"),
    "ENAMETOOLONG": ("the file name is too long", "choose a shorter name"),
    "EMFILE": ("too many open files", "raise the open-file limit (ulimit -n)"),
    "EIO": ("input/output error", "check the disk"),
}


def file_access_error(exc: OSError, *, action: str = "access") -> FileAccessError:
    """A :class:`FileAccessError` for an :class:`OSError` (names the path and the errno, nothing else)."""
    import errno as _errno

    code = _errno.errorcode.get(exc.errno or 0, "")
    message, fix = _ERRNO_WORDS.get(code, (f"cannot {action} ({code or type(exc).__name__})",
                                           "check the path, the permissions and the free disk space"))
    where = exc.filename if exc.filename is not None else "file system"
    return FileAccessError(f"cannot {action} a file", [Problem(str(where), message, fix)])


class ModelIntegrityError(InputError):
    """A saved model directory was modified, is incomplete, or was not written by synthstruct."""


class NotFittedError(SynthstructError, ValueError, AttributeError):
    """A synthesizer was used before ``fit`` (same bases as scikit-learn's ``NotFittedError``)."""

    exit_code = 2


class EngineError(SynthstructError, RuntimeError):
    """A generation backend failed while fitting or sampling."""


class ReleaseBlockedError(SynthstructError):
    """The release gate blocked the release. ``report`` holds every check and its verdict."""

    exit_code = 1

    def __init__(self, report: Any) -> None:
        """``report``: the blocking :class:`synthstruct.release.gate.GateReport` (errors.py sits below
        every package, so the type is not imported here)."""
        self.report = report
        failed = [c.name for c in report.failed_checks()]
        super().__init__(
            "release blocked by the gate: " + (", ".join(failed) if failed else "no passing checks")
        )

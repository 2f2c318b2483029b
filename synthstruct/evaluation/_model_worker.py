"""Child process of :mod:`synthstruct.evaluation.model_process`: read a pickled job on stdin, fit and score,
write the pickled result on stdout. Not a user entry point."""

from __future__ import annotations

import pickle
import sys


def main() -> int:
    job = pickle.loads(sys.stdin.buffer.read())  # noqa: S301 - written by our own parent process
    from synthstruct.evaluation.utility import _fit_and_score

    result = _fit_and_score(job)
    sys.stdout.buffer.write(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

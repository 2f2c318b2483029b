"""Evaluation suites: named, versioned lists of metrics (and their options) to compute and report.

A suite says *what to measure*; a policy says *where to draw lines*. A policy can pull a suite in
(``suite: full``) so that every metric of the suite appears in the report, checked or not. Built-in
suites live in ``evaluation/suites/`` (shipped as ``synthstruct/_defaults/suites``); ``load_suite``
also takes a path to a suite YAML.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from synthstruct._resources import PACKAGE_DIR
from synthstruct.errors import PolicyError, Problem

__all__ = ["BUILTIN_SUITES", "Suite", "load_suite"]

BUILTIN_SUITES = ("fidelity", "full", "privacy")


class Suite(BaseModel):
    """An evaluation suite (``suite_version: 1``)."""

    model_config = ConfigDict(extra="forbid")

    suite_version: Literal[1]
    name: str
    description: str = ""
    metrics: list[str] = Field(min_length=1)
    options: dict[str, Any] = Field(default_factory=dict, description="Metric options, e.g. pair_trends_max_rows.")


def load_suite(name_or_path: str | Path) -> Suite:
    """Load a built-in suite by name or a suite YAML file; every problem is reported at once.

    Raises:
        PolicyError: unknown suite, unreadable file, invalid suite or unknown metric names.
    """
    from synthstruct.evaluation.metric import METRICS
    from synthstruct.schema.io import pydantic_problems

    text_name = str(name_or_path)
    path = PACKAGE_DIR / "_defaults" / "suites" / f"{text_name}.yaml" if text_name in BUILTIN_SUITES else Path(text_name)
    if not path.is_file():
        raise PolicyError("evaluation suite not found", [Problem(
            text_name, "is neither a built-in suite nor a file", f"use one of {', '.join(BUILTIN_SUITES)} or a path")])
    try:
        suite = Suite.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except yaml.YAMLError:
        raise PolicyError("not valid YAML", [Problem(str(path), "cannot be parsed", "fix the YAML syntax")],
                          source=str(path)) from None
    except ValidationError as exc:
        raise PolicyError("invalid evaluation suite", pydantic_problems(exc), source=str(path)) from None
    from synthstruct.evaluation.utility import PROCESS_MODES

    unknown = [Problem(f"metrics[{i}]", f"unknown metric {m!r}", f"use one of: {', '.join(METRICS.names())}")
               for i, m in enumerate(suite.metrics) if m not in METRICS]
    process = suite.options.get("utility_process", "auto")
    if process not in PROCESS_MODES:
        unknown.append(Problem("options.utility_process", "is not a known place to fit the utility models",
                               f"use one of: {', '.join(PROCESS_MODES)}"))
    if unknown:
        raise PolicyError("invalid evaluation suite", unknown, source=str(path))
    return suite

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

__all__ = ["BUILTIN_SUITES", "Suite", "SuiteOptions", "load_suite"]

BUILTIN_SUITES = ("fidelity", "full", "privacy")


class SuiteOptions(BaseModel):
    """Metric options a suite may set (every one optional; a metric uses its default when unset).

    Typed and bounded so that a typo or a bad value is a :class:`~synthstruct.errors.PolicyError` naming
    ``options.<name>`` when the suite is loaded, not an error in the middle of the gate.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=False)

    pair_trends_max_rows: int | None = Field(default=None, ge=100, description="Rows per table for pair_trends.")
    discriminator_max_rows: int | None = Field(default=None, ge=100, description="Rows per table for the discriminator.")
    utility_max_rows: int | None = Field(default=None, ge=100, description="Training rows per utility model.")
    utility_max_test_rows: int | None = Field(default=None, ge=10, description="Real test rows scored by utility.")
    utility_max_iter: int | None = Field(default=None, ge=1, le=10_000, description="Boosting iterations (utility).")
    utility_process: Literal["in_process", "child", "auto"] | None = Field(
        default=None, description="Where the utility models are fitted (docs/scale.md).")
    model_threads: int | None = Field(default=None, ge=1, le=256, description="OpenMP threads per model fit.")
    rare_k: int | None = Field(default=None, ge=1, description="A category seen fewer times is rare (replay checks).")
    extreme_k: int | None = Field(default=None, ge=1, description="Extreme values: the k most extreme per column.")
    near_copy_quantile: float | None = Field(default=None, gt=0.0, lt=1.0,
                                             description="Holdout-distance quantile that sets the near-copy tolerance.")
    inference_tolerance: float | None = Field(default=None, gt=0.0, lt=1.0,
                                              description="A numeric secret guessed within this share counts as right.")
    attack_rows: int | None = Field(default=None, ge=10, description="Targets per attack.")
    attack_column_sets: int | None = Field(default=None, ge=0, le=100, description="Random column sets per attack.")
    distance_jobs: int | None = Field(default=None, ge=1, le=256, description="Threads of the neighbour searches.")
    block_entities: list[str] | None = Field(default=None, description="PII entities that block a release.")
    text_ngram: int | None = Field(default=None, ge=3, le=100, description="Word run that counts as a copied span.")
    text_ngram_shared_by: int | None = Field(default=None, ge=0, description="Stock-phrase rule for copied spans.")
    text_embeddings: bool | None = Field(default=None, description="Embedding-based text fidelity (offline MiniLM).")
    text_embed_rows: int | None = Field(default=None, ge=10, description="Texts embedded per table.")
    text_classifier_rows: int | None = Field(default=None, ge=10, description="Texts the fidelity classifier uses.")
    text_pii_replay: bool | None = Field(default=None, description="Scan synthetic texts for replayed PII.")

    def set_values(self) -> dict[str, Any]:
        """The options the suite sets (unset ones are left to each metric's default)."""
        return {k: v for k, v in self.model_dump().items() if v is not None}


class Suite(BaseModel):
    """An evaluation suite (``suite_version: 1``)."""

    model_config = ConfigDict(extra="forbid")

    suite_version: Literal[1]
    name: str
    description: str = ""
    metrics: list[str] = Field(min_length=1)
    options: SuiteOptions = Field(default_factory=SuiteOptions, description="Metric options (see SuiteOptions).")


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
        raise PolicyError("invalid evaluation suite", pydantic_problems(exc, "docs/policies.md"), source=str(path)) from None
    unknown = [Problem(f"metrics[{i}]", f"unknown metric {m!r}", f"use one of: {', '.join(METRICS.names())}")
               for i, m in enumerate(suite.metrics) if m not in METRICS]
    if unknown:
        raise PolicyError("invalid evaluation suite", unknown, source=str(path))
    return suite

"""Per-class privacy: the release gate's privacy checks restricted to each augmented class.

Memorisation concentrates in small classes: a model that saw 200 stroke patients can copy one of
them without moving any whole-table metric. So every augmented class gets its own gate run with a
context restricted to that class — training rows of the class vs synthetic rows of the class, with
the test rows of the class as the unseen-real reference — and the balance passes only when every
class passes.

The checks come from a release policy (``default`` unless chosen), keeping the metrics that are
meaningful on one class: copies, distances, membership inference, value and PII replay, rule
validity. Attack metrics over quasi-identifiers and fidelity/utility metrics are whole-table
questions and are left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from synthstruct.errors import PolicyError, Problem
from synthstruct.release.gate import GateReport, ReleaseGate
from synthstruct.release.policy import Policy, load_policy
from synthstruct.schema.model import Schema

__all__ = ["CLASS_METRICS", "ClassPrivacy", "class_policy", "class_privacy", "summary"]

#: Metrics that keep their meaning when train, synthetic and holdout are restricted to one class.
CLASS_METRICS = ("validity", "exact_match", "dcr", "dcr_share", "nndr", "membership_inference", "pii_replay",
                 "rare_category_replay", "extreme_value_replay")


def class_policy(policy: str | Path | Policy = "default") -> Policy:
    """The per-class version of a release policy: its checks on :data:`CLASS_METRICS` only.

    Raises:
        PolicyError: the policy is unknown or invalid, or keeps no per-class check.
    """
    base = policy if isinstance(policy, Policy) else load_policy(policy)[0]
    checks = [c for c in base.checks if c.metric in CLASS_METRICS]
    if not checks:
        raise PolicyError("policy has no per-class privacy check", [Problem(
            "checks", f"none of its checks uses one of {', '.join(CLASS_METRICS)}",
            "use the default policy or add e.g. an exact_match check")])
    reported = [m for m in base.report_metrics if m in CLASS_METRICS]
    return base.model_copy(update={"name": f"{base.name} (per class)", "checks": checks,
                                   "report_metrics": reported})


@dataclass
class ClassPrivacy:
    """The per-class gate runs: one :class:`GateReport` per augmented class."""

    policy: Policy
    classes: list[tuple[Any, GateReport, dict[str, int]]]

    @property
    def passed(self) -> bool:
        return all(report.passed for _, report, _ in self.classes)

    def failed_checks(self) -> list[str]:
        return [f"class {rank}: {c.name}" for rank, (_, report, _) in enumerate(self.classes, 1)
                for c in report.failed_checks()]


def class_privacy(train: pd.DataFrame, synthetic: pd.DataFrame, test: pd.DataFrame, schema: Schema, *,
                  classes: list[Any], policy: Policy, seed: int = 0) -> ClassPrivacy:
    """Run the per-class gate on each class of ``classes`` (coerced frames)."""
    target = schema.target
    runs = []
    def rows(frame: pd.DataFrame, label: Any) -> pd.DataFrame:
        return frame[(frame[target] == label).to_numpy()].reset_index(drop=True)

    for label in classes:
        tr, sy, te = rows(train, label), rows(synthetic, label), rows(test, label)
        report = ReleaseGate(policy).evaluate(train=tr, synthetic=sy, schema=schema, holdout=te, seed=seed)
        runs.append((label, report, {"train": len(tr), "synthetic": len(sy), "holdout": len(te)}))
    return ClassPrivacy(policy=policy, classes=runs)


def summary(privacy: ClassPrivacy, *, label_text: Mapping[Any, str]) -> dict[str, Any]:
    """JSON-ready per-class results (labels through ``label_text``, which hides rare labels)."""
    return {
        "policy": privacy.policy.name,
        "passed": privacy.passed,
        "classes": [{"class": label_text[label], "rows": rows, "gate": report.to_dict(),
                     "metrics": {name: result.to_dict() for name, result in report.metrics.items()}}
                    for label, report, rows in privacy.classes],
    }

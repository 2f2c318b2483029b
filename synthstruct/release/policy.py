"""Release policies: strict, versioned YAML that says what the gate checks and where it draws lines.

A policy lists *checks*. Each check names a metric from the registry, which statistic of the
metric's result to compare, a bound (``max`` or ``min``) and a severity (``block`` stops the release,
``warn`` is reported). Statistics relative to the holdout let thresholds mean "no worse than a fresh
real sample": ``minus_reference`` (value - holdout value) and ``over_reference`` (value / holdout value).

Built-in policies (``default``, ``strict``, ``lenient``, and ``audit`` for third-party data) ship in ``synthstruct/_defaults/policies``;
``--policy`` takes one of those names or a path to a YAML file. Every field is documented in
``docs/policies.md``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from synthstruct._resources import builtin_policy_path
from synthstruct.errors import PolicyError, Problem

__all__ = ["BUILTIN_POLICIES", "CheckSpec", "PiiSpec", "Policy", "PrivacySampling", "RequireDP", "SplitSpec", "load_policy", "policy_sha256"]

BUILTIN_POLICIES = ("audit", "default", "lenient", "strict")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # `min: .nan` would disable a check


class SplitSpec(_Strict):
    """How real rows are split before fitting. The holdout is never seen by the synthesizer."""

    holdout_fraction: float = Field(default=0.2, gt=0.0, lt=0.9)
    min_holdout_rows: int = Field(default=20, ge=2)
    stratify: bool = Field(default=True, description="Stratify on the schema target when there is one.")


class ValueProtection(_Strict):
    """Value protection applied by our synthesizers (see docs/privacy.md)."""

    k: int = Field(default=5, ge=0, description="Categories seen < k times are never emitted; numbers stay "
                                               "within the k-th most extreme training values. 0 = off.")


class RequireDP(_Strict):
    """Require a differentially private release (see docs/dp.md): the engine must be ``dp`` with at most
    this budget; anything else is refused before fitting and fails the gate's ``differential_privacy`` check."""

    max_epsilon: float = Field(gt=0, description="Largest total epsilon allowed.")
    max_delta: float | None = Field(default=None, gt=0, lt=1, description="Largest total delta allowed (optional).")


class PrivacySampling(_Strict):
    """How the distance-based privacy metrics treat large tables (see docs/policies.md#privacy-sampling)."""

    mode: Literal["auto", "exact", "sampled"] = Field(default="auto", description=(
        "auto: exact up to max_exact_pairs, sampled above; exact: always every row (--exact-privacy); "
        "sampled: always sample."))
    half_width: float = Field(default=0.01, gt=0.0, lt=0.5, description=(
        "Half-width of the interval every sampled share must reach; sets the query rows."))
    confidence: float = Field(default=0.95, gt=0.5, lt=1.0, description="Confidence level of that interval.")
    reference_rows: int = Field(default=20_000, ge=100, description=(
        "Sampled mode: rows in each reference set (train and holdout alike)."))
    attack_synthetic_rows: int = Field(default=20_000, ge=100, description=(
        "Sampled mode: synthetic rows the linkability and inference attacks search."))
    max_exact_pairs: float = Field(default=2.0e9, gt=0, description=(
        "auto: the exact passes may compare at most this many row pairs."))


class PiiSpec(_Strict):
    """PII rules for generated output."""

    block_entities: list[str] = Field(default_factory=list, description=(
        "Entity types that must not appear in any synthetic text column (checked by the "
        "pii_in_output metric), e.g. US_SSN, CREDIT_CARD, IBAN_CODE."))


class CheckSpec(_Strict):
    """One gate check."""

    metric: str
    statistic: Literal["value", "minus_reference", "minus_reference_lower", "over_reference", "ci_upper",
                       "ci_lower"] = "value"
    max: float | None = None
    min: float | None = None
    severity: Literal["block", "warn"] = "block"
    if_not_computed: Literal["block", "report"] = Field(default="report", description=(
        "What a check whose metric could not be computed does: 'report' shows it as not computed "
        "without deciding the verdict; 'block' fails it (it then blocks or warns per severity)."))
    name: str | None = Field(default=None, description="Check name in reports; defaults to metric[.statistic].")
    why: str | None = Field(default=None, description="Plain-words reason shown when the check fails.")
    fix: str | None = Field(default=None, description="What to change when the check fails.")

    @model_validator(mode="after")
    def _one_bound(self) -> "CheckSpec":
        if (self.max is None) == (self.min is None):
            raise ValueError("give exactly one of 'max' or 'min'")
        return self

    @property
    def check_name(self) -> str:
        if self.name:
            return self.name
        return self.metric if self.statistic == "value" else f"{self.metric}.{self.statistic}"


class Policy(_Strict):
    """A release policy (``policy_version: 1``)."""

    policy_version: Literal[1]
    name: str
    description: str = ""
    split: SplitSpec = Field(default_factory=SplitSpec)
    value_protection: ValueProtection = Field(default_factory=ValueProtection)
    pii: PiiSpec = Field(default_factory=PiiSpec)
    checks: list[CheckSpec] = Field(min_length=1)
    report_metrics: list[str] = Field(default_factory=list, description="Metrics computed and reported without a check.")
    suite: str | None = Field(default=None, description="An evaluation suite whose metrics are also reported.")
    require_dp: RequireDP | None = Field(default=None, description="Require differential privacy with a budget cap.")
    privacy_sampling: PrivacySampling = Field(default_factory=PrivacySampling, description=(
        "Exact or sampled distance metrics for large tables."))

    def metric_names(self) -> list[str]:
        """Checked metrics, then reported ones, then the suite's (each once, in that order)."""
        names: list[str] = []
        suite_metrics = self.load_suite().metrics if self.suite else []
        for name in [c.metric for c in self.checks] + list(self.report_metrics) + suite_metrics:
            if name not in names:
                names.append(name)
        return names

    def load_suite(self):  # noqa: ANN201 - Suite, imported lazily
        from synthstruct.evaluation.suite import load_suite

        return load_suite(self.suite) if self.suite else None


def _problems(exc: ValidationError) -> list[Problem]:
    from synthstruct.schema.io import pydantic_problems

    return pydantic_problems(exc, "docs/policies.md")


def policy_from_dict(data: object, *, source: str | None = None) -> Policy:
    """Validate a mapping as a policy; every problem is reported at once.

    Raises:
        PolicyError: listing each problem with its YAML path.
    """
    from synthstruct.evaluation.metric import METRICS

    if not isinstance(data, dict):
        raise PolicyError("a policy must be a YAML mapping", source=source)
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError("invalid policy", _problems(exc), source=source) from None
    unknown = [
        Problem(f"checks[{i}].metric", f"unknown metric {c.metric!r}", f"use one of: {', '.join(METRICS.names())}")
        for i, c in enumerate(policy.checks) if c.metric not in METRICS
    ]
    unknown += [
        Problem(f"report_metrics[{i}]", f"unknown metric {m!r}", f"use one of: {', '.join(METRICS.names())}")
        for i, m in enumerate(policy.report_metrics) if m not in METRICS
    ]
    if policy.suite is not None:
        try:
            policy.load_suite()
        except PolicyError as exc:
            unknown += [Problem(f"suite ({p.location})", p.message, p.fix) for p in exc.problems]
    from synthstruct.pii.entities import ALL_ENTITIES as scan_entities

    unknown += [Problem(f"pii.block_entities[{i}]", f"unknown entity {e!r}", "use an entity name from docs/scanning.md")
                for i, e in enumerate(policy.pii.block_entities) if e not in scan_entities]
    if unknown:
        raise PolicyError("invalid policy", unknown, source=source)
    return policy


def load_policy(name_or_path: str | Path) -> tuple[Policy, str]:
    """Load a built-in policy by name or a policy YAML file; returns the policy and its text.

    Raises:
        PolicyError: unknown name, unreadable file or invalid policy.
    """
    text: str
    source = str(name_or_path)
    if str(name_or_path) in BUILTIN_POLICIES:
        text = builtin_policy_path(str(name_or_path)).read_text(encoding="utf-8")
        source = f"built-in policy {name_or_path!r}"
    else:
        path = Path(name_or_path)
        if not path.is_file():
            raise PolicyError("policy not found", [
                Problem(str(path), "is neither a built-in policy nor a file",
                        f"use one of {', '.join(BUILTIN_POLICIES)} or a path to a policy YAML")], source=source)
        from synthstruct._yaml import load_yaml_file

        data = load_yaml_file(path, error=PolicyError, what="policy")  # binary, bombs, tags: typed errors
        return policy_from_dict(data, source=source), path.read_text(encoding="utf-8-sig")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        raise PolicyError("not valid YAML", [Problem(source, "cannot be parsed", "fix the YAML syntax")],
                          source=source) from None
    return policy_from_dict(data, source=source), text


def policy_sha256(policy: Policy) -> str:
    return hashlib.sha256(policy.model_dump_json().encode()).hexdigest()

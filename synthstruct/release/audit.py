"""Audit synthetic data made by anything (synthstruct, SDV, a vendor) against the real data.

``audit(real, synthetic, holdout=..., schema=..., policy=..., output=DIR)``:

1. loads the tables (CSV/Parquet paths or DataFrames); ``real`` is what the generator was trained
   on, ``holdout`` (optional, strongly advised) real rows it never saw;
2. takes the schema from ``schema`` or infers it from the real rows;
3. checks that the three tables agree (same columns, compatible types, enough holdout rows, not one
   row repeated) and coerces them — any problem is an :class:`~synthstruct.errors.InputError`
   naming columns and counts, never cell values, and nothing is written;
4. computes the metrics under the same names as the release gate: the policy's metrics with
   ``policy``, else every privacy metric plus ``column_shapes``;
5. with a policy, applies the same :class:`~synthstruct.release.gate.ReleaseGate` as ``release``;
6. writes ``report.json``, ``report.html`` and the ``schema.yaml`` used into ``output``, atomically.

The report's ``audit`` section lists the metrics that could not be computed and why (most need a
holdout as the real-data control), and those computed without a holdout reference.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from synthstruct.dataio import atomic_directory, atomic_write_bytes, check_output_dir, read_table, table_name_for
from synthstruct.errors import DataValidationError, Problem
from synthstruct.evaluation.metric import METRICS, EvaluationContext, MetricResult
from synthstruct.release.gate import GateReport, ReleaseGate
from synthstruct.release.policy import Policy, load_policy
from synthstruct.release.report import build_report, render_html, report_json_bytes
from synthstruct.schema.check import category_key, coerce_to_schema
from synthstruct.schema.io import dump_schema
from synthstruct.schema.model import Schema

__all__ = ["AUDIT_METRICS", "AuditResult", "MIN_HOLDOUT_ROWS", "audit"]

log = logging.getLogger(__name__)

#: Metrics an audit computes without a policy (those not registered yet are skipped).
AUDIT_METRICS = ("exact_match", "dcr", "dcr_share", "nndr", "membership_inference", "singling_out",
                 "linkability", "attribute_inference", "pii_replay", "rare_category_replay",
                 "extreme_value_replay", "column_shapes")
#: Fewer holdout rows than this cannot serve as a control (overridden by the policy's split).
MIN_HOLDOUT_ROWS = 20

Table = str | Path | pd.DataFrame


@dataclass
class AuditResult:
    """What an audit produced.

    Attributes:
        passed: The gate's verdict with a policy; ``None`` without one (no verdict).
        output: The report directory.
        gate: The gate report (with an empty check list without a policy).
        report: The ``report.json`` content.
    """

    passed: bool | None
    output: Path
    gate: GateReport
    report: dict[str, Any]


# ---------------------------------------------------------------------------- loading and checks
def _load(table: Table, role: str) -> tuple[pd.DataFrame, str]:
    if isinstance(table, pd.DataFrame):
        if len(table) == 0:
            raise DataValidationError(f"the {role} table is empty", [
                Problem(role, "has no rows", f"pass the {role} rows")], source=role)
        return table, role
    return read_table(table), str(table)


def _column_problems(real: pd.DataFrame, other: pd.DataFrame, role: str) -> list[Problem]:
    problems = [Problem(f"{role} column {c!r}", "is in the real data but missing here",
                        f"give the {role} table the same columns as the real data")
                for c in real.columns if c not in other.columns]
    problems += [Problem(f"{role} column {c!r}", "is not in the real data",
                         f"drop it from the {role} table or add it to the real data")
                 for c in other.columns if c not in real.columns]
    return problems


def _type_problems(real: pd.DataFrame, other: pd.DataFrame, schema: Schema, role: str) -> list[Problem]:
    """Categorical columns whose values share nothing with the real ones (a different coding/type)."""
    problems = []
    for name in schema.columns_of("categorical", "ordinal"):
        if name not in other.columns:
            continue
        real_keys = set(real[name].dropna().map(category_key))
        other_keys = other[name].dropna().map(category_key)
        if len(other_keys) and real_keys and not other_keys.isin(real_keys).any():
            problems.append(Problem(f"{role} column {name!r}",
                                    f"shares no value with the real column ({other_keys.nunique()} distinct "
                                    "values, none seen in the real data): a different type or coding",
                                    "encode the column as in the real data (same categories, same type)"))
    return problems


def _identical_rows_problem(frame: pd.DataFrame, schema: Schema, role: str) -> list[Problem]:
    columns = [c for c in schema.structured_columns if c in frame.columns]
    if len(frame) > 1 and columns and len(frame[columns].astype(str).drop_duplicates()) == 1:
        return [Problem(f"{role} table", f"all {len(frame)} rows are identical on the structured columns",
                        "pass the real generated rows; a single repeated row cannot be evaluated")]
    return []


def _coerce(frame: pd.DataFrame, schema: Schema, role: str, source: str) -> pd.DataFrame:
    problems = _identical_rows_problem(frame, schema, role)
    try:
        coerced = coerce_to_schema(frame, schema, source=source)
    except DataValidationError as exc:
        raise DataValidationError(f"the {role} table does not match the schema", problems + exc.problems,
                                  source=source) from None
    if problems:
        raise DataValidationError(f"the {role} table cannot be audited", problems, source=source)
    return coerced


def _schema(real: pd.DataFrame, schema: Schema | str | Path | None, source: str, target: str | None = None) -> Any:
    from synthstruct.release.pipeline import choose_schema

    name = "audit" if source == "real" else table_name_for(source)
    return choose_schema(real, schema, name=name, source=source, target=target, hierarchies=False)


def _metric_names(policy: Policy | None) -> list[str]:
    if policy is not None:
        return policy.metric_names()
    return [m for m in AUDIT_METRICS if m in METRICS]


# ---------------------------------------------------------------------------- report
def _coverage(metrics: dict[str, MetricResult]) -> dict[str, Any]:
    not_computed = [{"metric": n, "reason": r.note or "could not be computed"}
                    for n, r in metrics.items() if r.value is None]
    no_reference = [n for n, r in metrics.items()
                    if r.value is not None and r.reference is None and r.note and "holdout" in r.note]
    return {"not_computed": not_computed, "computed_without_holdout_reference": no_reference}


def _audit_html(report: dict[str, Any]) -> str:
    """The release report's HTML, retitled for an audit, with its own verdict and coverage sections.

    Anchored on element ids / tags of :func:`render_html` (``<title>``, ``<h1>``, ``#verdict``,
    ``</main>``); when an anchor is missing the audit sections are still added at the top.
    """
    import html
    import re

    page = render_html(report)
    page = page.replace("synthstruct release report", "synthstruct audit report", 1)
    page = re.sub(r"<h1>Release report", "<h1>Audit report", page, count=1)
    gate, info = report["gate"], report["audit"]
    if info["policy"] is None:
        head, body, cls = "No verdict", "No policy given: metrics only (pass --policy to apply a release gate).", "pass"
    elif gate["passed"]:
        head, body, cls = "Passes the policy", f"Every blocking check of policy {info['policy']} passed.", "pass"
    else:
        head, body, cls = "Would be blocked", f"Policy {info['policy']} would block this data; see the checks.", "block"
    verdict = (f"<section id='verdict' class='verdict {cls}' role='status'><div><strong>{html.escape(head)}"
               f"</strong>{html.escape(body)}</div></section>")
    items = "".join(f"<li><b>{html.escape(item['metric'])}</b>: {html.escape(item['reason'])}</li>"
                    for item in info["not_computed"])
    coverage = ("<section id='not-computed'><h2>Not computed</h2>"
                + (f"<ul class='reasons'>{items}</ul>" if items else "<p class='muted'>Every metric was computed.</p>")
                + "</section>")
    page, found = re.subn(r"<section id='verdict'.*?</section>", lambda _: verdict + coverage, page, count=1,
                          flags=re.S)
    if not found:
        page = page.replace("<body>", "<body>" + verdict + coverage, 1)
    return page


def audit(real: Table, synthetic: Table, *, output: str | Path, holdout: Table | None = None,
          schema: Schema | str | Path | None = None, policy: str | Path | Policy | None = None,
          seed: int = 0, overwrite: bool = False, options: dict[str, Any] | None = None,
          target: str | None = None) -> AuditResult:
    """Audit ``synthetic`` against the ``real`` rows it was made from.

    Args:
        real: The training rows of the generator (path or DataFrame).
        synthetic: The synthetic rows to audit.
        output: Report directory to create (``report.json``, ``report.html``, ``schema.yaml``).
        holdout: Real rows the generator never saw: the control of most privacy metrics.
        schema: Schema object or YAML path; inferred from the real rows when omitted.
        policy: Built-in policy name, YAML path or :class:`Policy`; applies the release gate.
        seed: Seed for subsampling inside the metrics.
        overwrite: Replace an existing non-empty output directory.
        options: Extra metric options (``attack_rows``, ...). ``canaries`` (a
            :class:`~synthstruct.privacy.canaries.CanaryTable` planted in ``real``) adds the
            ``canary_leakage`` metric to the report.
        target: Target column for the utility metrics (overrides the schema's); ``"none"`` for none.

    Raises:
        InputError: unreadable or mismatching tables, schema or policy (nothing is written).
    """
    t0 = time.perf_counter()
    check_output_dir(Path(output), overwrite=overwrite)  # the output and the policy fail before any reading
    policy_obj = policy if isinstance(policy, Policy) or policy is None else load_policy(policy)[0]
    real_frame, real_src = _load(real, "real")
    synthetic_frame, synthetic_src = _load(synthetic, "synthetic")
    holdout_frame, holdout_src = _load(holdout, "holdout") if holdout is not None else (None, None)
    choice = _schema(real_frame, schema, real_src, target)
    schema_obj, inferred = choice.schema, choice.inferred

    problems = _column_problems(real_frame, synthetic_frame, "synthetic")
    if holdout_frame is not None:
        problems += _column_problems(real_frame, holdout_frame, "holdout")
        needed = policy_obj.split.min_holdout_rows if policy_obj is not None else MIN_HOLDOUT_ROWS
        if len(holdout_frame) < needed:
            problems.append(Problem("holdout table", f"has {len(holdout_frame)} rows; at least {needed} are needed "
                                    "as a control", "pass more held-out real rows, or leave the holdout out"))
    if problems:
        raise DataValidationError("the tables do not match", problems, source=synthetic_src)
    real_c = _coerce(real_frame, schema_obj, "real", real_src)
    type_problems = _type_problems(real_c, synthetic_frame, schema_obj, "synthetic")
    if holdout_frame is not None:
        type_problems += _type_problems(real_c, holdout_frame, schema_obj, "holdout")
    if type_problems:
        raise DataValidationError("column types differ from the real data", type_problems, source=synthetic_src)
    synthetic_c = _coerce(synthetic_frame, schema_obj, "synthetic", synthetic_src)
    holdout_c = None if holdout_frame is None else _coerce(holdout_frame, schema_obj, "holdout", holdout_src)
    load_seconds = time.perf_counter() - t0

    t = time.perf_counter()
    if policy_obj is not None:
        gate = ReleaseGate(policy_obj).evaluate(train=real_c, synthetic=synthetic_c, schema=schema_obj,
                                                holdout=holdout_c, seed=seed, options=options)
    else:
        ctx = EvaluationContext(train=real_c, synthetic=synthetic_c, schema=schema_obj, holdout=holdout_c,
                                seed=seed, options={"rare_k": 5, "extreme_k": 5, **(options or {})})
        metrics, timings = {}, {}
        names = _metric_names(None)
        if (options or {}).get("canaries") is not None and "canary_leakage" not in names:
            names.append("canary_leakage")  # as the gate does
        for name in names:
            start = time.perf_counter()
            metrics[name] = METRICS.get(name)(ctx)
            timings[name] = round(time.perf_counter() - start, 4)
        gate = GateReport(passed=True, policy="(none)", checks=[], metrics=metrics, timings=timings)
    gate_seconds = time.perf_counter() - t

    rows = {"real": len(real_c), "synthetic": len(synthetic_c)}
    if holdout_c is not None:
        rows["holdout"] = len(holdout_c)
    report = build_report(gate, table=schema_obj.name, engine="external",
                          rows=rows, timings={"load": round(load_seconds, 3), "metrics": round(gate_seconds, 3)})
    report["inference"] = choice.record()
    report["audit"] = {
        "policy": None if policy_obj is None else policy_obj.name,
        "schema_inferred": inferred,
        "holdout": holdout_c is not None,
        "inputs": {"real": Path(real_src).name, "synthetic": Path(synthetic_src).name,
                   "holdout": None if holdout_src is None else Path(holdout_src).name},
        **_coverage(gate.metrics),
    }
    if policy_obj is None:
        report["gate"]["passed"] = None
    output = Path(output)
    with atomic_directory(output, overwrite=overwrite) as tmp:
        atomic_write_bytes(tmp / "report.json", report_json_bytes(report))
        (tmp / "report.html").write_text(_audit_html(report), encoding="utf-8")
        (tmp / "schema.yaml").write_text(dump_schema(schema_obj), encoding="utf-8")
    passed = None if policy_obj is None else gate.passed
    log.info("audit written to %s (verdict: %s)", output, passed)
    return AuditResult(passed=passed, output=output, gate=gate, report=report)

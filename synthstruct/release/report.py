"""Release reports: the versioned ``report.json`` and a self-contained ``report.html``.

The JSON is the contract (``report_version``); the HTML is rendered from it with inline CSS only,
so it opens offline. Reports hold aggregated numbers, never cell values.
"""

from __future__ import annotations

import html
import json
import logging
import math
from pathlib import Path
from typing import Any, Callable

from synthstruct._resources import PACKAGE_DIR
from synthstruct.release import plots
from synthstruct.release.gate import GateReport
from synthstruct.release.report_text import REPORT_CSS, check_label, metric_description, metric_label

__all__ = ["REPORT_VERSION", "build_report", "load_report_schema", "render_html", "report_json_bytes",
           "report_schema_path", "validate_report"]

log = logging.getLogger(__name__)

REPORT_VERSION = 1


def json_safe(obj: Any) -> Any:
    """Make numbers JSON-safe (NaN/inf -> None; numpy scalars -> Python)."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item) and getattr(obj, "ndim", 1) == 0:
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def build_report(gate: GateReport, *, table: str, engine: str, rows: dict[str, int],
                 timings: dict[str, float], sampling: dict[str, Any] | None = None,
                 attempts: int = 1, value_protection: dict[str, Any] | None = None) -> dict[str, Any]:
    """Assemble the report dictionary (see ``docs/report.md`` for every field)."""
    return json_safe({
        "report_version": REPORT_VERSION,
        "table": table,
        "engine": engine,
        "rows": rows,
        "gate": {**gate.to_dict(), "attempts": attempts},
        "metrics": {name: result.to_dict() for name, result in gate.metrics.items()},
        "sampling": sampling or {},
        "value_protection": value_protection or {},
        "timings": {**timings, "metrics": gate.timings},
        **({"privacy_sampling": gate.privacy_sampling} if gate.privacy_sampling is not None else {}),
    })


def report_json_bytes(report: dict[str, Any]) -> bytes:
    """``report.json`` content: indented UTF-8 JSON (no NaN) with a final newline."""
    return (json.dumps(report, indent=2, sort_keys=False, allow_nan=False) + "\n").encode("utf-8")


def report_schema_path() -> Path:
    """Path of the shipped JSON Schema (draft 2020-12) of ``report.json``."""
    return PACKAGE_DIR / "_defaults" / "report.schema.json"


def load_report_schema() -> dict[str, Any]:
    """The JSON Schema of ``report.json`` as a dictionary."""
    return json.loads(report_schema_path().read_text(encoding="utf-8"))


def validate_report(report: dict[str, Any]) -> list[str]:
    """Problems of ``report`` against the shipped schema, as ``"path: message"`` strings (empty = valid)."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(load_report_schema())
    return [f"{'/'.join(str(p) for p in err.absolute_path) or '(root)'}: {err.message}"
            for err in sorted(validator.iter_errors(report), key=lambda err: list(map(str, err.absolute_path)))]


# ---------------------------------------------------------------------------------------------- HTML
#: Column kinds whose schema-level labels may appear in plots (id, pii and text never do).
_PLOTTABLE_KINDS = {"numerical", "datetime", "categorical", "ordinal", "boolean"}
_SHAPE_MEASURES = {"ks_complement": "1 − KS statistic", "tv_complement": "1 − total variation distance"}
_e = html.escape


def format_number(x: Any) -> str:
    if x is None:
        return "—"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        return f"{x:.4g}"
    return _e(str(x))


def _missing(metric: dict[str, Any] | None, what: str) -> str:
    if metric is None:
        reason = "the policy did not run this metric"
    else:
        reason = metric.get("note") or "the metric returned no data for it"
    return f"<p class='missing'>No {_e(what)}: {_e(reason)}.</p>"


def figure_html(svg: str, caption: str) -> str:
    return f"<figure>{svg}<figcaption>{_e(caption)}</figcaption></figure>"


def _safely(render: Callable[[], str], metric: dict[str, Any] | None, what: str) -> str:
    """Render a plot; a malformed or partial ``details`` block becomes a sentence, never a crash."""
    try:
        return render() or _missing(metric, what)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, ZeroDivisionError):
        log.debug("could not draw %s", what, exc_info=True)
        return _missing(metric, what)


def _header(report: dict[str, Any]) -> str:
    gate = report["gate"]
    rows = ", ".join(f"{_e(str(k))} {format_number(v)}" for k, v in report.get("rows", {}).items())
    return (f"<header><h1>Release report — {_e(str(report['table']))}</h1><p class='meta'>Engine "
            f"<b>{_e(str(report['engine']))}</b> · policy <b>{_e(str(gate['policy']))}</b> · rows: {rows} · "
            f"report version {format_number(report.get('report_version'))}</p></header>")


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _verdict(gate: dict[str, Any]) -> str:
    checks = gate["checks"]
    blocking = [c for c in checks if not c["passed"] and c["severity"] == "block"]
    warnings = [c for c in checks if not c["passed"] and c["severity"] != "block"]
    passed = gate["passed"]
    if passed:
        head, body = "Released", "Every blocking check passed; the synthetic data was written to data/."
    else:
        head = "Blocked — no data was written"
        body = f"{_plural(len(blocking), 'blocking check')} failed. See below for what to change."
    not_computed = [c for c in checks if c.get("status") == "not_computed"]
    summary = (f"{sum(c['passed'] and c.get('status') != 'not_computed' for c in checks)} of {len(checks)} "
               f"checks passed · {_plural(len(blocking), 'blocking failure')} · {_plural(len(warnings), 'warning')}"
               + (f" · {len(not_computed)} not computed" if not_computed else ""))
    return (f"<section id='verdict' class='verdict {'pass' if passed else 'block'}' "
            f"data-passed='{str(passed).lower()}' role='status'>"
            f"<span class='mark' aria-hidden='true'>{'✓' if passed else '✗'}</span><div>"
            f"<strong>{_e(head)}</strong>{_e(body)}<br><span class='muted'>{_e(summary)}</span></div></section>")


def _attempts(gate: dict[str, Any]) -> str:
    attempts = gate.get("attempts") or 1
    if attempts <= 1:
        return ""
    return (f"<p class='attempts' id='attempts'>This input, schema and policy have been through the gate "
            f"<b>{int(attempts)}</b> times on this machine. Re-generating until a run passes is itself a leak: "
            f"each attempt gives the checks another chance to miss a copy. Say so when you share the data.</p>")


def reasons_html(gate: dict[str, Any]) -> str:
    failed = [c for c in gate["checks"] if not c["passed"] or c.get("status") == "not_computed"]
    if not failed:
        return ""
    out = ["<section id='reasons'><h2>What to change</h2>"]
    for c in sorted(failed, key=lambda c: c["severity"] != "block"):
        blocks = c["severity"] == "block" and not c["passed"]
        fix = f"<p class='fix'><b>What to change:</b> {_e(c['fix'])}</p>" if c.get("fix") else ""
        out.append(f"<div class='card reason{'' if blocks else ' warn'}'><h3>{_e(check_label(c))} — "
                   f"{'blocks the release' if blocks else ('not computed' if c['passed'] else 'warning only')}</h3><p>{_e(c['explanation'])}</p>"
                   f"{fix}<code>{_e(c['name'])}</code></div>")
    out.append("</section>")
    return "".join(out)


def checks_table_html(gate: dict[str, Any]) -> str:
    out = ["<section id='checks'><h2>All checks</h2><table><thead><tr><th>check</th><th>value</th>"
           "<th>limit</th><th>severity</th><th>verdict</th></tr></thead><tbody>"]
    for c in gate["checks"]:
        cls = "ok" if c["passed"] else ("bad" if c["severity"] == "block" else "warn-t")
        word = "pass" if c["passed"] else ("FAIL" if c["severity"] == "block" else "warn")
        if c.get("status") == "not_computed":
            cls, word = ("muted", "not computed") if c["passed"] else (cls, f"{word} (not computed)")
        out.append(f"<tr><td>{_e(check_label(c))}<br><code>{_e(c['name'])}</code></td><td class='num'>"
                   f"{format_number(c['value'])}</td><td class='num'>{_e(c['comparison'])} {format_number(c['threshold'])}</td>"
                   f"<td>{_e(c['severity'])}</td><td class='{cls}'>{word}</td></tr>")
    out.append("</tbody></table></section>")
    return "".join(out)


def metrics_table_html(metrics: list[dict[str, Any]]) -> str:
    out = ["<table><thead><tr><th>metric</th><th>synthetic</th><th>holdout reference</th><th>95 % interval</th>"
           "<th>what it means</th></tr></thead><tbody>"]
    for m in metrics:
        ci = m.get("ci")
        interval = f"{format_number(ci[0])} – {format_number(ci[1])}" if isinstance(ci, list) and len(ci) == 2 else "—"
        meaning = metric_description(m["name"])
        note = f"<br><span class='muted'>{_e(m['note'])}</span>" if m.get("note") else ""
        out.append(f"<tr><td>{_e(metric_label(m['name']))}<br><code>{_e(m['name'])}</code></td><td class='num'>"
                   f"{format_number(m['value'])}</td><td class='num'>{format_number(m.get('reference'))}</td><td class='num'>"
                   f"{interval}</td><td>{_e(meaning)}{note}</td></tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _shares(counts: list[Any]) -> list[float]:
    values = [float(c) if isinstance(c, (int, float)) else 0.0 for c in counts]
    total = sum(values)
    return [v / total if total else 0.0 for v in values]


def _dcr_plot(metric: dict[str, Any]) -> str:
    hist = metric["details"]["histogram"]
    names = {"synthetic_to_train": "synthetic → train", "synthetic_to_holdout": "synthetic → holdout",
             "holdout_to_train": "holdout → train"}
    series = [(label, _shares(hist[key])) for key, label in names.items() if key in hist]
    if not series:
        return ""
    svg = plots.histogram("plot-dcr", "Distance to closest record", hist["bin_edges"], series,
                          x_label="distance to the closest row (0 = identical)", y_label="share of rows")
    return figure_html(svg, "If the synthetic → train curve sits left of synthetic → holdout, synthetic rows are "
                        "closer to the people the model saw than to comparable people it did not see. "
                        "holdout → train shows how close fresh real rows are.")


def _roc_plot(metric: dict[str, Any]) -> str:
    details = metric["details"]
    roc = details["roc"]
    auc = details.get("auc")
    at_1 = metric.get("value")
    marker = (0.01, float(at_1), f"TPR {at_1:.3g} at 1 % FPR") if isinstance(at_1, (int, float)) else None
    title = "Membership-inference ROC" + (f" (AUC {auc:.3f})" if isinstance(auc, (int, float)) else "")
    svg = plots.line_chart("plot-roc", title, [("distance attack", roc["fpr"], roc["tpr"])],
                           x_label="false-positive rate", y_label="true-positive rate", diagonal=True, marker=marker)
    return figure_html(svg, "The closer the curve stays to the dashed diagonal, the less an attacker learns about "
                        "who was in the training data (AUC 0.5 = guessing).")


def _privacy(by_name: dict[str, dict[str, Any]], metrics: list[dict[str, Any]]) -> str:
    dcr, mia = by_name.get("dcr"), by_name.get("membership_inference")
    figs = [_safely(lambda: _dcr_plot(dcr), dcr, "distance histogram"),  # type: ignore[arg-type]
            _safely(lambda: _roc_plot(mia), mia, "membership-inference ROC curve")]  # type: ignore[arg-type]
    return (f"<section id='privacy'><h2>Privacy</h2>{metrics_table_html(metrics)}"
            f"<div class='grid2' style='margin-top:.8rem'>{''.join(figs)}</div></section>")


def _count_table(metric: dict[str, Any] | None, what: str, fields: dict[str, str]) -> str:
    if metric is None or not isinstance(metric.get("details", {}).get("columns"), dict):
        return _missing(metric, what)
    columns = metric["details"]["columns"]
    if not columns:
        return _missing({"note": metric.get("note") or "no column to check"}, what)
    out = [f"<table><thead><tr><th>column</th>{''.join(f'<th>{_e(v)}</th>' for v in fields.values())}"
           "</tr></thead><tbody>"]
    for name, row in columns.items():
        cells = "".join(f"<td class='num'>{format_number(row.get(k)) if isinstance(row, dict) else '—'}</td>" for k in fields)
        out.append(f"<tr><td>{_e(str(name))}</td>{cells}</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _pii(by_name: dict[str, dict[str, Any]]) -> str:
    parts = ["<section id='pii'><h2>PII and rare values</h2><p class='muted'>Counts only: values of id, pii and "
             "text columns never appear in a report.</p><h3>PII / id values replayed from the real data</h3>",
             _count_table(by_name.get("pii_replay"), "PII replay counts",
                          {"synthetic_values": "synthetic values", "replayed": "replayed",
                           "distinct_replayed": "distinct replayed"}),
             "<h3>Rare categories (seen fewer than k times in training)</h3>",
             _count_table(by_name.get("rare_category_replay"), "rare-category counts",
                          {"rare_in_train": "rare in train", "replayed_categories": "replayed",
                           "synthetic_rows_with_rare": "synthetic rows with one"}),
             "<h3>Extreme values (beyond the k-th most extreme real value)</h3>",
             _count_table(by_name.get("extreme_value_replay"), "extreme-value counts",
                          {"below": "synthetic below", "above": "synthetic above",
                           "holdout_beyond": "holdout beyond (reference)"}),
             "</section>"]
    return "".join(parts)


def _column_plot(index: int, name: str, plot: dict[str, Any], score: dict[str, Any]) -> str:
    title = f"{name}"
    measure = _SHAPE_MEASURES.get(str(score.get("metric")), "similarity")
    caption = (f"{measure}: {format_number(score.get('score'))} (a fresh real sample scores "
               f"{format_number(score.get('reference'))}; 1 = identical)")
    if plot.get("type") == "histogram":
        svg = plots.histogram(f"plot-col-{index}", title, plot["edges"],
                              [("real (train)", plot["real"]), ("synthetic", plot["synthetic"])],
                              x_label=f"{name} ({score.get('kind', 'value')})")
    elif plot.get("type") == "frequencies":
        categories = [str(c) for c in plot["categories"]]
        real = [plot["real"].get(c) for c in plot["categories"]]
        synthetic = [plot["synthetic"].get(c) for c in plot["categories"]]
        keep = [i for i, c in enumerate(plot["categories"])
                if c not in ("(missing)", "(other)") or (real[i] or 0) + (synthetic[i] or 0) > 0]
        svg = plots.bar_chart(f"plot-col-{index}", title, [categories[i] for i in keep],
                              [("real (train)", [real[i] for i in keep]), ("synthetic", [synthetic[i] for i in keep])],
                              x_label=f"{name} (categories seen at least k times)")
    else:
        return ""
    return figure_html(svg, caption)


def _column_plots(metric: dict[str, Any]) -> str:
    details = metric["details"]
    scores = details.get("columns", {})
    figs = []
    for i, (name, plot) in enumerate(details["plots"].items()):
        score = scores.get(name, {})
        if score.get("kind") not in _PLOTTABLE_KINDS:
            continue  # never draw a column that is not known to be structured
        figs.append(_safely(lambda: _column_plot(i, name, plot, score), metric, f"plot for {name}"))
    return f"<div class='grid'>{''.join(figs)}</div>" if figs else ""


def _heatmaps(metric: dict[str, Any]) -> str:
    assoc = metric["details"]["association"]
    labels, real, synthetic = assoc["columns"], assoc["real"], assoc["synthetic"]
    diff = [[abs(a - b) if isinstance(a, (int, float)) and isinstance(b, (int, float)) else None
             for a, b in zip(ra, rb)] for ra, rb in zip(real, synthetic)]
    figs = [plots.heatmap("plot-assoc-real", "Real (train)", labels, real),
            plots.heatmap("plot-assoc-syn", "Synthetic", labels, synthetic),
            plots.heatmap("plot-assoc-diff", "Absolute difference (0.5+ saturates)", labels, diff,
                          low=0.0, high=0.5)]
    caption = f"Association between column pairs: {assoc.get('measure', '')}."
    return (f"<div class='grid' style='grid-template-columns:repeat(auto-fit,minmax(20rem,1fr))'>"
            f"{''.join(figure_html(f, caption) for f in figs)}</div>")


def _worst_pairs(metric: dict[str, Any], limit: int = 8) -> str:
    pairs = [p for p in metric["details"]["pairs"] if isinstance(p.get("score"), (int, float))]
    if not pairs:
        return ""
    out = ["<h3>Least similar column pairs</h3><table><thead><tr><th>pair</th><th>measure</th><th>similarity</th>"
           "<th>holdout reference</th></tr></thead><tbody>"]
    for p in sorted(pairs, key=lambda p: p["score"])[:limit]:
        out.append(f"<tr><td>{_e(' × '.join(map(str, p['columns'])))}</td><td>{_e(str(p.get('metric', '')))}</td>"
                   f"<td class='num'>{format_number(p['score'])}</td><td class='num'>{format_number(p.get('reference'))}</td></tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _fidelity(by_name: dict[str, dict[str, Any]], metrics: list[dict[str, Any]]) -> str:
    shapes, pairs = by_name.get("column_shapes"), by_name.get("pair_trends")
    return (f"<section id='fidelity'><h2>Fidelity</h2>{metrics_table_html(metrics)}"
            "<h3>Real vs synthetic, column by column</h3>"
            + _safely(lambda: _column_plots(shapes), shapes, "column distributions")  # type: ignore[arg-type]
            + "<h3>Associations between columns</h3>"
            + _safely(lambda: _heatmaps(pairs), pairs, "association heatmaps")  # type: ignore[arg-type]
            + (_safely(lambda: _worst_pairs(pairs), pairs, "pair table") if pairs else "")
            + "</section>")


def _utility_plot(metric: dict[str, Any]) -> str:
    details = metric["details"]
    trtr, tstr = details["trtr"], details["tstr"]
    keys = [k for k in trtr if k != "mae" and isinstance(trtr.get(k), (int, float))]
    if not keys:
        return ""
    svg = plots.bar_chart("plot-utility", f"Predicting {details.get('target', 'the target')}", keys,
                          [("trained on real", [trtr[k] for k in keys]),
                           ("trained on synthetic", [tstr.get(k) for k in keys])],
                          x_label="score on real holdout rows", y_label="score")
    return figure_html(svg, f"A {details.get('task', '')} model trained on {details.get('n_train_real', '?')} real or "
                        f"{details.get('n_train_synthetic', '?')} synthetic rows, tested on "
                        f"{details.get('n_test', '?')} real rows it never saw.")


def _utility(by_name: dict[str, dict[str, Any]], metrics: list[dict[str, Any]]) -> str:
    util = by_name.get("utility")
    figure = _safely(lambda: _utility_plot(util), util, "utility chart")  # type: ignore[arg-type]
    return (f"<section id='utility'><h2>Utility</h2>{metrics_table_html(metrics)}"
            f"<div class='grid2' style='margin-top:.8rem'>{figure}</div></section>")


def _run_details(report: dict[str, Any]) -> str:
    vp = report.get("value_protection") or {}
    rows = [("value protection k", format_number(vp.get("k"))),
            ("rare categories merged", ", ".join(f"{_e(str(c))}: {format_number(n)}" for c, n in
                                                 (vp.get("rare_categories_merged") or {}).items()) or "none"),
            ("columns clipped to their k-th extreme",
             _e(", ".join(map(str, vp.get("clipped_columns") or []))) or "none")]
    rows += [(f"sampling: {_e(str(k).replace('_', ' '))}", format_number(v))
             for k, v in (report.get("sampling") or {}).items()]
    rows += [(f"time: {_e(str(k))} (s)", format_number(v)) for k, v in (report.get("timings") or {}).items()
             if not isinstance(v, dict)]
    body = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in rows)
    return f"<section id='run'><h2>About this run</h2><table><tbody>{body}</tbody></table></section>"


def _by_category(report: dict[str, Any], category: str) -> list[dict[str, Any]]:
    return [m for m in report.get("metrics", {}).values() if isinstance(m, dict) and m.get("category") == category]


def _dp_section(report: dict[str, Any]) -> str:
    from synthstruct.dp.report import privacy_html

    return privacy_html(report)


def render_html(report: dict[str, Any]) -> str:
    """Render the report dictionary as one self-contained HTML page (inline CSS and SVG, no scripts).

    Only aggregated numbers and schema-level labels are shown; every string is escaped. A metric that
    was not computed (or lacks plot data) becomes a sentence saying why instead of a plot.
    """
    gate = report["gate"]
    by_name = {m["name"]: m for m in report.get("metrics", {}).values() if isinstance(m, dict) and "name" in m}
    body = [_header(report), _verdict(gate), _attempts(gate),
            "<nav aria-label='sections'><a href='#reasons'>what to change</a><a href='#checks'>checks</a>"
            "<a href='#privacy'>privacy</a><a href='#pii'>PII</a><a href='#fidelity'>fidelity</a>"
            "<a href='#utility'>utility</a><a href='#run'>run</a></nav>",
            reasons_html(gate), checks_table_html(gate),
            _privacy(by_name, _by_category(report, "privacy")), _pii(by_name),
            _fidelity(by_name, _by_category(report, "fidelity") + _by_category(report, "validity")),
            _utility(by_name, _by_category(report, "utility")), _dp_section(report), _run_details(report)]
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width,initial-scale=1'>"
            "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'; "
            "img-src data:\">"
            f"<title>synthstruct release report: {_e(str(report['table']))}</title><style>{REPORT_CSS}</style></head>"
            f"<body><main>{''.join(body)}</main></body></html>\n")

"""The balance report: ``report.json`` (data) and a self-contained ``report.html``.

The page answers the two questions of someone who balanced a table: *did it help?* (the lift table
and chart, with plain sentences where ours is not better) and *is it safe?* (the per-class privacy
gate). Only aggregated numbers and class labels held by at least ``k`` training rows are shown.
"""

from __future__ import annotations

import html
from typing import Any

from synthstruct.balance.lift import METHODS, SCORES
from synthstruct.release import plots
from synthstruct.release import report as release_report

__all__ = ["BALANCE_REPORT_VERSION", "render_balance_html"]

BALANCE_REPORT_VERSION = 1

_e = html.escape
_METHOD_TEXT = {"none": "no augmentation", "class_weight": "class weights", "smote": "SMOTE / SMOTENC",
                "synthstruct": "synthstruct (ours)"}
_SCORE_TEXT = {"minority_f1": "minority-class F1", "pr_auc": "PR-AUC (minority)",
               "balanced_accuracy": "balanced accuracy"}


def format_number(x: Any) -> str:
    return release_report.format_number(x)


def _verdict(report: dict[str, Any]) -> str:
    privacy = report["privacy"]
    passed = privacy["passed"]
    written = "the balanced table was written to data/" if passed else "no data was written"
    head = "Safe by the per-class gate" if passed else "Blocked by the per-class privacy gate"
    lines = "".join(f"<li>{_e(s)}</li>" for s in (report.get("lift") or {}).get("verdicts", []))
    helped = f"<ul>{lines}</ul>" if lines else "<p class='muted'>Lift was not measured (--lift-seeds 0).</p>"
    return (f"<section id='verdict' class='verdict {'pass' if passed else 'block'}' data-passed="
            f"'{str(passed).lower()}' role='status'><span class='mark' aria-hidden='true'>{'✓' if passed else '✗'}"
            f"</span><div><strong>{_e(head)}</strong>{_e(written)}.<br><b>Did it help?</b>{helped}</div></section>")


def _classes_table(report: dict[str, Any]) -> str:
    rows = "".join(f"<tr><td>{_e(str(c['class']))}</td><td class='num'>{format_number(c['train_rows'])}</td>"
                   f"<td class='num'>{format_number(c['added_rows'])}</td><td class='num'>{format_number(c['output_rows'])}</td>"
                   f"<td class='num'>{format_number(c['test_rows'])}</td></tr>" for c in report["classes"])
    return ("<section id='classes'><h2>Rows per class</h2><table><thead><tr><th>class</th><th>real training rows"
            "</th><th>synthetic rows added</th><th>rows in the output</th><th>real test rows (held out)</th>"
            f"</tr></thead><tbody>{rows}</tbody></table><p class='muted'>The output holds every real training row "
            "unchanged, followed by the synthetic rows. The test rows were split off before anything was fitted "
            "and are written to data/ separately so that you can test on them too.</p></section>")


def _lift_table(lift: dict[str, Any]) -> str:
    head = "".join(f"<th>{_e(_SCORE_TEXT[s])}</th>" for s in SCORES)
    body = []
    for method in METHODS:
        cells = []
        for score in SCORES:
            stats = lift["methods"][method][score]
            cells.append(f"<td class='num'>{stats['mean']:.3f} ± {stats['std']:.3f}<br><span class='muted'>"
                         f"{stats['min']:.3f} – {stats['max']:.3f}</span></td>")
        body.append(f"<tr><td>{_e(_METHOD_TEXT[method])}</td>{''.join(cells)}</tr>")
    return (f"<table><thead><tr><th>training data</th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")


def _lift_plot(lift: dict[str, Any]) -> str:
    svg = plots.bar_chart("plot-lift", "Scores on the real test split", [_SCORE_TEXT[s] for s in SCORES],
                          [(_METHOD_TEXT[m], [lift["methods"][m][s]["mean"] for s in SCORES]) for m in METHODS],
                          x_label="score (mean over seeds)", y_label="score")
    return release_report.figure_html(svg, f"The same {lift['model']} trained four ways, tested on "
                                       f"{lift['n_test']} real rows ({lift['n_test_minority']} of the minority "
                                       f"class) it never saw; mean over {len(lift['seeds'])} seeds.")


def _lift(report: dict[str, Any]) -> str:
    lift = report.get("lift")
    if not lift:
        return ("<section id='lift'><h2>Did it help?</h2><p class='missing'>Lift was not measured "
                "(--lift-seeds 0).</p></section>")
    verdicts = "".join(f"<li>{_e(v)}</li>" for v in lift.get("verdicts", []))
    return (f"<section id='lift'><h2>Did it help?</h2><p>Minority class: <b>{_e(str(lift['minority_class']))}</b> "
            f"({100 * lift['minority_class_share']:.1f} % of the training rows). Mean ± standard deviation over "
            f"seeds, min – max below. SMOTE variant: {_e(lift['smote_variant'])}.</p>{_lift_table(lift)}"
            f"<ul>{verdicts}</ul><div class='grid2' style='margin-top:.8rem'>{_lift_plot(lift)}</div></section>")


def _privacy(report: dict[str, Any]) -> str:
    privacy = report["privacy"]
    intro = (f"<section id='privacy'><h2>Is it safe? Privacy per class</h2><p>Policy <b>{_e(privacy['policy'])}"
             "</b>, restricted to each augmented class: training rows of the class against the synthetic rows of "
             "the class, with the held-out real rows of the class as the reference.</p>")
    parts = [intro]
    for entry in privacy["classes"]:
        gate = entry["gate"]
        metrics = [m for m in entry["metrics"].values() if m.get("category") == "privacy"]
        rows = entry["rows"]
        parts.append(f"<h3>Class {_e(str(entry['class']))} — {'passed' if gate['passed'] else 'BLOCKED'} "
                     f"<span class='muted'>({format_number(rows['train'])} training, {format_number(rows['synthetic'])} synthetic, "
                     f"{format_number(rows['holdout'])} held-out rows)</span></h3>")
        parts.append(release_report.reasons_html(gate).replace("<section id='reasons'>", "<div>")
                     .replace("</section>", "</div>"))
        parts.append(release_report.checks_table_html(gate).replace("<section id='checks'><h2>All checks</h2>", "<div>")
                     .replace("</section>", "</div>"))
        parts.append(release_report.metrics_table_html(metrics))
    parts.append("</section>")
    return "".join(parts)


def _run(report: dict[str, Any]) -> str:
    rows = [("engine", report["engine"]), ("strategy", report["strategy"]), ("seed", report["seed"]),
            ("value protection k", report["protect_k"])]
    rows += [(f"rows: {k}", v) for k, v in report["rows"].items()]
    rows += [(f"sampling: {k.replace('_', ' ')}", v) for k, v in report.get("sampling", {}).items()]
    rows += [(f"time: {k} (s)", v) for k, v in report.get("timings", {}).items()]
    body = "".join(f"<tr><td>{_e(str(k))}</td><td>{format_number(v)}</td></tr>" for k, v in rows)
    return f"<section id='run'><h2>About this run</h2><table><tbody>{body}</tbody></table></section>"


def render_balance_html(report: dict[str, Any]) -> str:
    """One self-contained page (inline CSS and SVG, no scripts) from the balance report dictionary."""
    header = (f"<header><h1>Balance report — {_e(str(report['table']))}</h1><p class='meta'>Target "
              f"<b>{_e(str(report['target']))}</b> · engine <b>{_e(str(report['engine']))}</b> · "
              f"report version {report['report_version']}</p></header>")
    nav = ("<nav aria-label='sections'><a href='#classes'>rows per class</a><a href='#lift'>did it help?</a>"
           "<a href='#privacy'>is it safe?</a><a href='#run'>run</a></nav>")
    body = [header, _verdict(report), nav, _classes_table(report), _lift(report), _privacy(report), _run(report)]
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width,initial-scale=1'>"
            "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'; "
            "img-src data:\">"
            f"<title>synthstruct balance report: {_e(str(report['table']))}</title>"
            f"<style>{release_report.REPORT_CSS}</style></head><body><main>{''.join(body)}</main></body></html>\n")

"""Release reports: the versioned ``report.json`` and a self-contained ``report.html``.

The JSON is the contract (``report_version``); the HTML is rendered from it with inline CSS only,
so it opens offline. Reports hold aggregated numbers, never cell values.
"""

from __future__ import annotations

import html
import json
import math
from typing import Any

from synthstruct.release.gate import GateReport

__all__ = ["REPORT_VERSION", "build_report", "render_html", "report_json_bytes"]

REPORT_VERSION = 1


def _clean(obj: Any) -> Any:
    """Make numbers JSON-safe (NaN/inf -> None; numpy scalars -> Python)."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item) and getattr(obj, "ndim", 1) == 0:
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def build_report(gate: GateReport, *, table: str, engine: str, rows: dict[str, int],
                 timings: dict[str, float], sampling: dict[str, Any] | None = None,
                 attempts: int = 1, value_protection: dict[str, Any] | None = None) -> dict[str, Any]:
    """Assemble the report dictionary (see ``docs/report.md`` for every field)."""
    return _clean({
        "report_version": REPORT_VERSION,
        "table": table,
        "engine": engine,
        "rows": rows,
        "gate": {**gate.to_dict(), "attempts": attempts},
        "metrics": {name: result.to_dict() for name, result in gate.metrics.items()},
        "sampling": sampling or {},
        "value_protection": value_protection or {},
        "timings": {**timings, "metrics": gate.timings},
    })


def report_json_bytes(report: dict[str, Any]) -> bytes:
    return (json.dumps(report, indent=2, sort_keys=False, allow_nan=False) + "\n").encode("utf-8")


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:60rem;color:#1b1f24;padding:0 1rem}
h1{font-size:1.5rem} h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.3rem}
.verdict{padding:1rem 1.25rem;border-radius:.5rem;font-size:1.2rem;font-weight:600}
.pass{background:#e6f4ea;color:#0d652d;border:1px solid #a8dab5}
.block{background:#fce8e6;color:#a50e0e;border:1px solid #f4b8b2}
table{border-collapse:collapse;width:100%;font-size:.92rem} td,th{padding:.35rem .5rem;border-bottom:1px solid #eee;text-align:left}
.ok{color:#0d652d} .bad{color:#a50e0e;font-weight:600} .warn{color:#8a5300} .muted{color:#666}
ul.reasons li{margin:.4rem 0}
"""


def _num(x: Any) -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        return f"{x:.4g}"
    return html.escape(str(x))


def render_html(report: dict[str, Any]) -> str:
    """Render the report dictionary as one self-contained HTML page."""
    gate = report["gate"]
    passed = gate["passed"]
    e = html.escape
    out = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
           f"<title>synthstruct release report: {e(report['table'])}</title><style>{_CSS}</style></head><body>"]
    out.append(f"<h1>Release report — {e(report['table'])}</h1>")
    verdict = "Released: every blocking check passed" if passed else "Blocked: no data was written"
    out.append(f"<div class='verdict {'pass' if passed else 'block'}' id='verdict'>{e(verdict)}</div>")
    out.append(f"<p class='muted'>Engine {e(report['engine'])} · policy {e(gate['policy'])} · "
               f"gate run {gate.get('attempts', 1)} for this input · rows: "
               + ", ".join(f"{e(k)} {v}" for k, v in report["rows"].items()) + "</p>")
    failed = [c for c in gate["checks"] if not c["passed"]]
    if failed:
        out.append("<h2>Why</h2><ul class='reasons'>")
        for c in failed:
            tag = "blocks the release" if c["severity"] == "block" else "warning"
            fix = f"<br><span class='muted'>What to change: {e(c['fix'])}</span>" if c.get("fix") else ""
            out.append(f"<li><b>{e(c['name'])}</b> ({tag}): {e(c['explanation'])}{fix}</li>")
        out.append("</ul>")
    out.append("<h2>Checks</h2><table><tr><th>check</th><th>value</th><th>limit</th><th>severity</th><th>verdict</th></tr>")
    for c in gate["checks"]:
        cls = "ok" if c["passed"] else ("bad" if c["severity"] == "block" else "warn")
        word = "pass" if c["passed"] else ("FAIL" if c["severity"] == "block" else "warn")
        out.append(f"<tr><td>{e(c['name'])}</td><td>{_num(c['value'])}</td><td>{e(c['comparison'])} "
                   f"{_num(c['threshold'])}</td><td>{e(c['severity'])}</td><td class='{cls}'>{word}</td></tr>")
    out.append("</table>")
    for category in ("privacy", "validity", "fidelity", "utility"):
        rows = [m for m in report["metrics"].values() if m["category"] == category]
        if not rows:
            continue
        out.append(f"<h2>{category.capitalize()}</h2><table><tr><th>metric</th><th>synthetic</th>"
                   "<th>holdout reference</th><th>note</th></tr>")
        for m in rows:
            out.append(f"<tr><td>{e(m['name'])}</td><td>{_num(m['value'])}</td><td>{_num(m['reference'])}</td>"
                       f"<td class='muted'>{e(m.get('note') or '')}</td></tr>")
        out.append("</table>")
    out.append("<h2>Timings (s)</h2><table>")
    for k, v in report["timings"].items():
        if not isinstance(v, dict):
            out.append(f"<tr><td>{e(k)}</td><td>{_num(v)}</td></tr>")
    out.append("</table></body></html>")
    return "\n".join(out)

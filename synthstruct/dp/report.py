"""The differential privacy record of a release: what goes to ``manifest.json``, ``report.json`` and the
HTML report (ε, δ, the accountant, the per-step budget split, and what the guarantee covers)."""

from __future__ import annotations

from html import escape
from typing import Any

__all__ = ["COVERS", "DOES_NOT_COVER", "privacy_html", "privacy_record"]

COVERS = ("the synthetic rows and their number (by default the noisy estimate of the training row count), "
          "given the schema: every statistic the dp engine learned from the training "
          "rows (one-way marginals, the tree choice, the clique marginals, and any bounds or category lists "
          "the schema did not declare) is released through an OpenDP mechanism and accounted; id, pii and "
          "placeholder text columns are generated without reading any real value")
DOES_NOT_COVER = ("the schema itself (column kinds, declared categories and bounds are taken as public); the "
                  "release gate's verdict and the report's metrics, which are computed on the real rows (a "
                  "blocked or passed verdict, and every number in this report other than the privacy record, is a "
                  "function of the real data); the train/holdout split, which is drawn from the seed and the rows "
                  "(the guarantee is with respect to the training rows); the row counts recorded in the manifest and "
                  "report")


def privacy_record(privacy: dict[str, Any]) -> dict[str, Any]:
    """The JSON-ready DP record for the manifest and report (numbers from the engine's accountant)."""
    keys = ("epsilon", "delta", "epsilon_spent", "delta_spent", "accountant", "neighbouring", "library",
            "rho_total", "rho_spent", "split", "steps", "declared_domain", "estimated_domain", "tree")
    record = {k: privacy[k] for k in keys if k in privacy}
    record["covers"] = COVERS
    record["does_not_cover"] = DOES_NOT_COVER
    return record


def privacy_html(report: dict[str, Any]) -> str:
    """An HTML section with the DP record, or ``""`` when the release is not differentially private."""
    dp = report.get("differential_privacy")
    if not dp:
        return ""
    rows = [("ε (budget / spent)", f"{dp['epsilon']:.4g} / {dp['epsilon_spent']:.4g}"),
            ("δ (budget / spent)", f"{dp['delta']:.3g} / {dp['delta_spent']:.3g}"),
            ("accountant", escape(str(dp.get("accountant", "")))),
            ("neighbouring datasets", escape(str(dp.get("neighbouring", "")))),
            ("library", escape(str(dp.get("library", ""))))]
    rows += [(f"budget share: {escape(str(k))}", f"{v['share']:.1%} (ρ = {v['rho']:.3g})")
             for k, v in (dp.get("split") or {}).items()]
    rows += [("covers", escape(dp["covers"])), ("does not cover", escape(dp["does_not_cover"]))]
    body = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in rows)
    return (f"<section id='dp'><h2>Differential privacy</h2><table><tbody>{body}</tbody></table>"
            "<p class='muted'>The utility and fidelity sections above show what the privacy budget cost.</p></section>")

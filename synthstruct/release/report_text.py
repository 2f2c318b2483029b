"""Fixed text of the release report's HTML: the stylesheet and plain-words metric names and meanings.

:data:`METRIC_TEXT` is keyed by metric name (the registry name, which is also ``MetricResult.name``
and a check's ``metric``); a metric missing from it is shown under its name with ``_`` as spaces.
"""

from __future__ import annotations

from typing import Any

__all__ = ["METRIC_TEXT", "REPORT_CSS", "STATISTIC_TEXT", "check_label", "metric_description", "metric_label"]

REPORT_CSS = """
:root{--ink:#1b1f24;--muted:#5f6670;--line:#e3e6ea;--real:#0072B2;--syn:#E69F00}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:var(--ink);background:#f6f7f9;line-height:1.45}
main{max-width:68rem;margin:0 auto;padding:1.5rem 1.25rem 3rem}
h1{font-size:1.55rem;margin:.2rem 0 .25rem} h2{font-size:1.2rem;margin:2.2rem 0 .6rem;padding-bottom:.3rem;border-bottom:2px solid var(--line)}
h3{font-size:1rem;margin:1.4rem 0 .4rem}
.meta{color:var(--muted);font-size:.9rem;margin:0 0 1rem}
nav{font-size:.9rem;margin:.6rem 0 0} nav a{margin-right:.9rem;color:#0b57d0;text-decoration:none}
.verdict{padding:1.1rem 1.3rem;border-radius:.6rem;border:1px solid;display:flex;gap:1rem;align-items:center}
.verdict .mark{font-size:2rem;font-weight:700;line-height:1;width:2.6rem;height:2.6rem;border-radius:50%;display:flex;align-items:center;justify-content:center;color:#fff;flex:none}
.verdict strong{font-size:1.3rem;display:block}
.pass{background:#e6f4ea;border-color:#a8dab5;color:#0d652d} .pass .mark{background:#188038}
.block{background:#fce8e6;border-color:#f4b8b2;color:#a50e0e} .block .mark{background:#c5221f}
.card{background:#fff;border:1px solid var(--line);border-radius:.5rem;padding:.8rem 1rem;margin:.6rem 0}
.reason{border-left:5px solid #c5221f} .reason.warn{border-left-color:#e37400}
.reason h3{margin:0 0 .25rem;font-size:1rem} .fix{margin:.35rem 0 0;color:#174ea6}
.attempts{background:#fef7e0;border:1px solid #f6d776;border-radius:.5rem;padding:.6rem .9rem;margin:.8rem 0;color:#5c4400}
table{border-collapse:collapse;width:100%;font-size:.9rem;background:#fff}
td,th{padding:.38rem .55rem;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:#f1f3f5;font-weight:600} td.num{font-variant-numeric:tabular-nums;white-space:nowrap}
code{font-size:.82em;color:var(--muted)}
.ok{color:#0d652d;font-weight:600} .bad{color:#a50e0e;font-weight:700} .warn-t{color:#8a5300;font-weight:600} .muted{color:var(--muted)}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(19rem,1fr));gap:.8rem}
.grid2{display:grid;grid-template-columns:repeat(auto-fill,minmax(26rem,1fr));gap:.8rem}
figure{margin:0;background:#fff;border:1px solid var(--line);border-radius:.5rem;padding:.5rem}
figcaption{font-size:.82rem;color:var(--muted);padding:.2rem .3rem}
svg.chart{width:100%;height:auto;display:block}
.missing{font-style:italic;color:var(--muted)}
@media print{body{background:#fff} .card,figure{break-inside:avoid}}
"""

#: Plain-words name and meaning of every metric (what a reader needs to interpret the number).
METRIC_TEXT: dict[str, tuple[str, str]] = {
    "validity": ("Rule validity", "Share of synthetic rows that satisfy every schema rule (types, bounds, "
                 "constraints). Must be 1."),
    "exact_match": ("Exact copies", "Share of synthetic rows identical to a training row. The reference is the "
                    "share identical to an unseen real (holdout) row: copies above that are memorised people."),
    "dcr": ("Distance to closest record", "Median distance from a synthetic row to its nearest training row; the "
            "reference is the same distance to unseen real rows. Much closer to train than to holdout means "
            "near-copies."),
    "dcr_share": ("Closer to train than to holdout", "Share of synthetic rows nearer to a training row than to a "
                  "holdout row. 0.5 is what a fresh sample scores. Context only."),
    "nndr": ("Nearest-neighbour distance ratio", "Median ratio of the nearest to the second-nearest training "
             "row distance; values near 0 single out one real person."),
    "membership_inference": ("Membership inference", "True-positive rate of an attacker guessing who was in the "
                             "training data, at 1 % false alarms. 0.01 is pure guessing."),
    "membership_auc": ("Membership inference AUC", "How well the same attacker separates training rows from "
                       "unseen real rows over all thresholds. 0.5 is pure guessing, 1 is total."),
    "near_copies": ("Near copies", "Share of synthetic rows closer to a training row than unseen real people "
                    "usually get (the 1st percentile of their distances); the reference is the same share "
                    "against unseen real rows."),
    "pii_replay": ("PII replay", "Values of pii / id columns in the output that also occur in the real data."),
    "rare_category_replay": ("Rare categories replayed", "Categories seen fewer than k times in the training "
                             "data that appear in the output."),
    "extreme_value_replay": ("Extreme values replayed", "Synthetic values beyond the k-th most extreme real "
                             "value of a column."),
    "singling_out": ("Singling-out risk", "Rare combinations of values (on the worst of several column sets) held "
                     "by one training person that reappear in the synthetic data, beyond what unseen real (holdout) people's rare "
                     "combinations do. 0 means no leak, 1 total."),
    "linkability": ("Linkability risk", "How often two separately known halves of a training person's "
                    "record (the worst of several column sets) lead to the same synthetic row, beyond the same attack on unseen real "
                    "(holdout) people. 0 means no leak, 1 total."),
    "attribute_inference": ("Attribute-inference risk", "How often an attacker who knows some of a training "
                            "person's columns (the worst of several column sets) guesses their sensitive value from the nearest synthetic row, "
                            "beyond the same guess for unseen real (holdout) people; the worst sensitive column "
                            "counts. 0 means no leak, 1 total."),
    "text_fidelity": ("Text fidelity", "How closely synthetic free text follows the real text: 1 minus the KS "
                      "distance between real and synthetic word counts, averaged over the text columns (1 is the "
                      "same length profile); the reference is the same score for unseen real (holdout) text."),
    "text_memorisation": ("Text memorisation", "Synthetic text cells that copy a run of 8 words from a training "
                          "text or replay a PII value found in the training text; the reference is the same count "
                          "for unseen real (holdout) text. 0 means nothing copied."),
    "canary_leakage": ("Canary leakage", "Planted artificial people (canaries) that were in the training data and "
                       "that the synthetic rows give away; the reference counts canaries kept out of training. "
                       "0 means no canary leaked."),
    "pii_in_output": ("Blocked personal data in generated text", "Cells of generated free-text columns that hold "
                      "an entity type the policy blocks (e.g. card numbers, national ids). 0 means none was found."),
    "coverage": ("Coverage of the real data", "Mean share of each column's real categories (seen at least k times) "
                 "and of its 1st–99th percentile range that the synthetic data covers; the reference is the same "
                 "for unseen real (holdout) rows. Low means the generator collapsed onto the common cases."),
    "column_shapes": ("Column shapes", "Mean similarity of each column's distribution (1 − KS statistic or "
                      "1 − total variation distance); 1 is identical."),
    "pair_trends": ("Pair trends", "Mean similarity of correlations and contingency tables between column "
                    "pairs; 1 is identical."),
    "discriminator_auc": ("Telling synthetic from real (discriminator AUC)", "How well a classifier tells "
                          "synthetic rows from unseen real (holdout) rows; 0.5 means it cannot. The reference is "
                          "what two real samples (train vs holdout) score."),
    "missing_patterns": ("Missing-value patterns", "Similarity of which cells are empty together in a row "
                         "(1 − total variation distance between the patterns); 1 is identical."),
    "differential_privacy": ("Differential privacy budget", "Total ε spent by the differentially private engine's "
                             "accountant (OpenDP, zCDP); the policy's require_dp sets the limit. It covers the synthetic "
                             "rows given the schema, not this report (docs/dp.md)."),
    "utility": ("Machine-learning utility", "Score of a model trained on synthetic rows divided by the score of "
                "one trained on real rows, both tested on real holdout rows; 1 means no loss."),
}
#: How a check's statistic relates to its metric's value, appended to the metric's label.
STATISTIC_TEXT = {"value": "", "minus_reference": "minus the holdout reference",
                  "minus_reference_lower": "above the holdout reference, lower 95 % bound",
                  "over_reference": "relative to the holdout reference", "ci_upper": "upper 95 % bound",
                  "ci_lower": "lower 95 % bound"}


def metric_label(metric: str) -> str:
    """Plain-words name of ``metric`` (its name with spaces when it has none)."""
    return METRIC_TEXT.get(metric, (metric.replace("_", " ").capitalize(), ""))[0]


def metric_description(metric: str) -> str:
    """What ``metric``'s number means, or ``""`` when there is no description."""
    return METRIC_TEXT.get(metric, ("", ""))[1]


def check_label(check: dict[str, Any]) -> str:
    """Plain-words name of a gate check: its metric's label plus what statistic is compared."""
    extra = STATISTIC_TEXT.get(check.get("statistic", ""), "")
    return metric_label(check.get("metric", check["name"])) + (f", {extra}" if extra else "")

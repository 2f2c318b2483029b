from __future__ import annotations

import pytest
import yaml

from synthstruct.errors import PolicyError
from synthstruct.evaluation.metric import MetricResult
from synthstruct.release.gate import GateReport, _judge, statistic_of
from synthstruct.release.policy import BUILTIN_POLICIES, CheckSpec, load_policy, policy_from_dict


def _result(value, reference=None, ci=None):
    return MetricResult(name="m", category="privacy", goal="minimize", value=value, reference=reference, ci=ci)


@pytest.mark.parametrize("name", BUILTIN_POLICIES)
def test_builtin_policies_load(name):
    policy, text = load_policy(name)
    assert policy.name == name
    assert {"exact_match", "pii_replay", "membership_inference"} <= set(policy.metric_names())
    assert yaml.safe_load(text)["policy_version"] == 1


def test_strict_is_tighter_than_default():
    default, _ = load_policy("default")
    strict, _ = load_policy("strict")
    d = {c.check_name: c for c in default.checks}
    s = {c.check_name: c for c in strict.checks}
    assert s["exact_match.minus_reference"].max < d["exact_match.minus_reference"].max
    # strict judges the point estimate, default its lower 95 % bound (<= the point): same limit is tighter
    assert s["near_copies.minus_reference"].max <= d["near_copies.minus_reference_lower"].max
    assert s["membership_auc.ci_lower"].max < d["membership_auc.ci_lower"].max
    assert s["membership_inference.ci_lower"].severity == "block"
    assert d["membership_inference.ci_lower"].severity == "warn"


def test_policy_errors_are_collected(tmp_path):
    bad = {"policy_version": 1, "name": "x", "checks": [
        {"metric": "no_such_metric", "max": 1},
        {"metric": "validity"},  # no bound
        {"metric": "validity", "min": 1, "colour": "red"},
    ]}
    with pytest.raises(PolicyError) as info:
        policy_from_dict(bad)
    locs = {p.location for p in info.value.problems}
    assert "checks.1" in locs and "checks.2.colour" in locs
    ok_shape = {"policy_version": 1, "name": "x", "checks": [{"metric": "no_such_metric", "max": 1}]}
    with pytest.raises(PolicyError, match="unknown metric"):
        policy_from_dict(ok_shape)
    with pytest.raises(PolicyError, match="neither a built-in"):
        load_policy(tmp_path / "missing.yaml")


def test_suite_with_an_unknown_utility_process_is_a_policy_error(tmp_path):
    from synthstruct.evaluation.suite import load_suite

    path = tmp_path / "suite.yaml"
    path.write_text("suite_version: 1\nname: s\nmetrics: [utility]\noptions: {utility_process: threads}\n")
    with pytest.raises(PolicyError) as info:
        load_suite(path)
    assert [p.location for p in info.value.problems] == ["options.utility_process"]
    assert "threads" not in str(info.value)  # the fix names the allowed values, not echoes the input
    path.write_text("suite_version: 1\nname: s\nmetrics: [utility]\noptions: {utility_process: child}\n")
    assert load_suite(path).options.utility_process == "child"


@pytest.mark.parametrize("options, location", [
    ("{utility_max_rows: abc}", "options.utility_max_rows"),
    ("{utility_max_rows: 0}", "options.utility_max_rows"),
    ("{near_copy_quantile: 1.5}", "options.near_copy_quantile"),
    ("{text_embeddings: maybe}", "options.text_embeddings"),
    ("{pair_trend_max_rows: 5000}", "options.pair_trend_max_rows"),  # misspelt: unknown, not ignored
])
def test_suite_option_with_a_bad_value_or_name_is_a_policy_error_at_load(tmp_path, options, location):
    from synthstruct.evaluation.suite import load_suite

    path = tmp_path / "suite.yaml"
    path.write_text(f"suite_version: 1\nname: s\nmetrics: [utility]\noptions: {options}\n")
    with pytest.raises(PolicyError) as info:
        load_suite(path)
    assert [p.location for p in info.value.problems] == [location]
    assert "abc" not in str(info.value) and "maybe" not in str(info.value)


def test_suite_options_reach_the_gate_only_when_set(tmp_path):
    from synthstruct.evaluation.suite import load_suite

    path = tmp_path / "suite.yaml"
    path.write_text("suite_version: 1\nname: s\nmetrics: [utility]\noptions: {utility_max_rows: '5000'}\n")
    assert load_suite(path).options.set_values() == {"utility_max_rows": 5000}
    assert load_suite("full").options.set_values() == {"pair_trends_max_rows": 20000, "discriminator_max_rows": 10000}


def test_statistics():
    r = _result(0.03, reference=0.01, ci=(0.02, 0.05))
    assert statistic_of(r, "value") == 0.03
    assert statistic_of(r, "minus_reference") == pytest.approx(0.02)
    assert statistic_of(r, "over_reference") == pytest.approx(3.0)
    assert statistic_of(r, "ci_upper") == 0.05
    assert statistic_of(_result(0.1), "minus_reference") is None
    both = MetricResult(name="m", category="privacy", goal="minimize", value=0.05, reference=0.01,
                        ci=(0.03, 0.07), reference_ci=(0.0, 0.04))
    # (0.05 - 0.01) - hypot(0.05 - 0.03, 0.04 - 0.01)
    assert statistic_of(both, "minus_reference_lower") == pytest.approx(0.04 - (0.02 ** 2 + 0.03 ** 2) ** 0.5)
    assert statistic_of(r, "minus_reference_lower") is None  # no reference interval
    assert statistic_of(_result(0.0, reference=0.0), "over_reference") == 1.0


def test_judge_pass_fail_and_missing():
    spec = CheckSpec(metric="exact_match", statistic="minus_reference", max=0.005, why="copies")
    ok = _judge(spec, _result(0.004, reference=0.001))
    assert ok.passed and ok.comparison == "<=" and ok.computed
    bad = _judge(spec, _result(0.05, reference=0.001))
    assert not bad.passed and "copies" in bad.explanation and bad.status == "computed"
    low = _judge(CheckSpec(metric="validity", min=1.0), _result(0.99))
    assert not low.passed and low.comparison == ">="


def test_not_computed_is_a_state_that_blocks_only_when_the_policy_says_so():
    uncomputable = MetricResult(name="m", category="privacy", goal="minimize", value=0.1, note="no holdout")
    spec = CheckSpec(metric="exact_match", statistic="minus_reference", max=0.005)
    assert spec.if_not_computed == "report"
    reported = _judge(spec, uncomputable)
    assert reported.status == "not_computed" and not reported.computed and reported.value is None
    assert reported.passed and "no holdout" in reported.explanation and "not computed" in reported.explanation
    required = _judge(spec.model_copy(update={"if_not_computed": "block"}), uncomputable)
    assert required.status == "not_computed" and not required.passed and "if_not_computed: block" in required.explanation
    report = GateReport(passed=False, policy="p", checks=[reported, required], metrics={})
    assert report.to_dict()["not_computed"] == ["exact_match.minus_reference"] * 2
    assert report.failed_checks() == [required]
    with pytest.raises(PolicyError):
        policy_from_dict({"policy_version": 1, "name": "x",
                          "checks": [{"metric": "validity", "min": 1, "if_not_computed": "maybe"}]})


def test_strict_requires_only_always_computable_checks():
    strict, _ = load_policy("strict")
    required = {c.metric for c in strict.checks if c.if_not_computed == "block"}
    assert {"validity", "exact_match", "dcr", "membership_inference", "near_copies"} <= required
    assert not required & {"singling_out", "linkability", "attribute_inference"}
    default, _ = load_policy("default")
    assert {c.metric for c in default.checks if c.if_not_computed == "block"} == {
        "validity", "exact_match", "near_copies", "dcr", "membership_auc"}

"""EvaluationContext.shared: work several metrics need is built once per evaluation; seeds come from _seeds."""

from __future__ import annotations

import pandas as pd

from synthstruct._seeds import stream_rng, stream_seed
from synthstruct.evaluation.metric import EvaluationContext
from synthstruct.schema.model import Schema

SCHEMA = Schema.model_validate({"schema_version": 1, "name": "t", "columns": {"x": {"kind": "numerical"}}})


def test_shared_builds_once_per_context():
    frame = pd.DataFrame({"x": [1.0, 2.0]})
    calls = []

    def build(ctx: EvaluationContext) -> int:
        calls.append(ctx)
        return len(ctx.train)

    ctx = EvaluationContext(train=frame, synthetic=frame, schema=SCHEMA)
    assert ctx.shared("n", build) == 2 and ctx.shared("n", build) == 2
    assert calls == [ctx]
    other = EvaluationContext(train=frame.iloc[:1], synthetic=frame, schema=SCHEMA)
    assert other.shared("n", build) == 1 and len(calls) == 2


def test_stream_seeds_are_pinned():
    # the values the release pipeline has always used (a change would change every bundle's bytes)
    assert stream_seed(0, "split") == 142732367 and stream_seed(7, "partition", 3) == 2639985455
    assert stream_rng(0, "split").integers(1 << 30) == stream_rng(0, "split").integers(1 << 30)

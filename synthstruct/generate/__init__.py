"""Schema-only generation: records from a schema pack's priors, rules, Faker PII and text.

Light to import (numpy, pandas, pydantic); text backends and Faker load only when used.
"""

from synthstruct.generate.engine import GenerationResult, generate_table, plan_order
from synthstruct.generate.mapping import apply_column_mapping, parse_mapping
from synthstruct.generate.qc import quality_report
from synthstruct.generate.spec import (
    RequirementSpec,
    load_spec,
    merge_spec,
    parse_set_option,
    validate_spec,
)

__all__ = [
    "GenerationResult",
    "RequirementSpec",
    "apply_column_mapping",
    "generate_table",
    "load_spec",
    "merge_spec",
    "parse_mapping",
    "parse_set_option",
    "plan_order",
    "quality_report",
    "validate_spec",
]

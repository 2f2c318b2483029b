"""Class balancing for downstream classifiers, with proof of lift and per-class privacy.

``balance(data, target=...)`` keeps every real training row and adds synthetic rows of the classes
that need them (conditional generation, never reject-sampling), measures on a held-out real test
split whether that helps a fixed classifier compared with no augmentation, class weights and
SMOTE/SMOTENC, and runs the release gate's privacy checks restricted to each augmented class.
See ``docs/balance.md``.
"""

from __future__ import annotations

from synthstruct.balance.api import BalanceResult, balance
from synthstruct.balance.plan import parse_counts, parse_ratio, plan_rows

__all__ = ["BalanceResult", "balance", "parse_counts", "parse_ratio", "plan_rows"]

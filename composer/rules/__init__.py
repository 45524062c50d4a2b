"""Every rule, by id. One definition serves the checker and the composer alike."""

from __future__ import annotations

from composer.rules.base import (
    Context,
    Finding,
    GlobalRule,
    HorizontalRule,
    MelodicRule,
    Param,
    Rule,
    Scope,
    Severity,
    VerticalRule,
)
from composer.rules.contour import CONTOUR_RULES
from composer.rules.melodic import MELODIC_RULES
from composer.rules.motion import MOTION_RULES
from composer.rules.originality import ORIGINALITY_RULES
from composer.rules.structure import STRUCTURE_RULES
from composer.rules.vertical import VERTICAL_RULES

RULES: dict[str, Rule] = {
    rule.id: rule
    for rule in (*VERTICAL_RULES, *MOTION_RULES, *MELODIC_RULES, *STRUCTURE_RULES,
                 *ORIGINALITY_RULES, *CONTOUR_RULES)
}

__all__ = ["RULES", "Context", "Finding", "GlobalRule", "HorizontalRule", "MelodicRule",
           "Param", "Rule", "Scope", "Severity", "VerticalRule"]

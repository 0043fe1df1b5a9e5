"""doudi's rule engine: load a rule pack, validate it, evaluate households against it."""

from .decision import Decision, TraceStep
from .errors import DoudiError, EvaluationError, HouseholdError, Problem, RulePackError
from .evaluate import evaluate, parameter_index
from .load import load_pack
from .model import RulePack

__all__ = [
    "Decision",
    "DoudiError",
    "EvaluationError",
    "HouseholdError",
    "Problem",
    "RulePack",
    "RulePackError",
    "TraceStep",
    "evaluate",
    "load_pack",
    "parameter_index",
]

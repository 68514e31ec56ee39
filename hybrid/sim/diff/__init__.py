"""Gradients of expectation values that autograd does not give cheaply: the adjoint
method (a few states of memory) and parameter shift (what hardware can do)."""

from .adjoint import AdjointExpval
from .problem import ExpvalProblem
from .shift import ParameterShiftExpval

__all__ = ["AdjointExpval", "ParameterShiftExpval", "ExpvalProblem"]

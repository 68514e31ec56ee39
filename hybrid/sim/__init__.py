"""The engine: a batched, differentiable statevector simulator in plain torch.

No PennyLane or Qiskit imports below this package.
"""

from .circuit import Circuit
from .fuse import FusionConfig
from .instructions import Channel, Condition, Measure, Operation
from .expval import DIFF_METHODS, expval
from .memory import MemoryLimitError
from .observables import PauliSum, I, X, Y, Z, parse_observable, pauli_word
from .params import Parameter
from .simulate import simulate
from .state import State
from .statevector import StateVector

__all__ = [
    "Circuit", "Channel", "Condition", "Measure", "Operation", "MemoryLimitError", "PauliSum", "I", "X", "Y", "Z",
    "parse_observable", "pauli_word", "Parameter", "simulate", "State", "StateVector", "expval", "DIFF_METHODS", "FusionConfig",
]  # fmt: skip

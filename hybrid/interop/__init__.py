"""The edges: Qiskit/OpenQASM (qiskit.py) and, later, PennyLane."""

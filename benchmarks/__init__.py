"""Benchmarks of the hybrid engine against PennyLane, Lightning and Qiskit Aer."""

"""Side-by-side algorithm benchmark: each quantum algorithm against its classical counterpart.

One module per algorithm (``grover``, ``shor``, ``vqe``, ``qaoa``), each with

    run(quick: bool, device: str) -> list[dict]

returning one row per case with these keys (extra keys are kept in the JSON record):

    algorithm          "grover" | "shor" | "vqe" | "qaoa"
    case               short label of the input, e.g. "n=10, M=1" or "N=21"
    qubits             qubits simulated
    two_qubit_gates    two-qubit (and wider) gates in the circuit as simulated
    resources          the algorithm's own resource count, as text ("25 oracle queries",
                       "p=2 layers", "3 quantum runs")
    quality            result quality, as text ("P(marked)=0.9995", "factors 3 x 7",
                       "error 0.4 mHa", "ratio 0.93")
    quantum_s          wall seconds of the simulated quantum part on ``device``
    classical          the classical counterpart's name ("brute force", "Pollard rho", ...)
    classical_quality  its result quality, as text
    classical_s        its wall seconds, on the same device where it runs in torch
    device             the device the quantum part ran on
"""

"""The ``hybrid`` command in-process: info, demo and ``hybrid run`` on tiny inputs.

Answers are checked independently of the algorithms: Grover's success probability against
the closed form sin^2((2k+1) asin(sqrt(M/N))), CNF solutions against the formula, Shor's
factors by multiplication and the period by brute force, QAOA's cut recomputed from its
bitstring on the networkx graph and its optimum by enumeration, VQE against exact
diagonalisation (numpy) and the published H2/STO-3G full-CI energy.
"""

from __future__ import annotations

import itertools
import json
import math

import networkx as nx
import numpy as np
import pytest
import torch

from hybrid.cli import main, parse_marked
from hybrid.sim.memory import WORKING_STATES, free_bytes


def _json(capsys, argv: list[str]) -> dict:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_info_json_has_versions_devices_and_largest_states(capsys):
    info = _json(capsys, ["info", "--json"])
    assert info["versions"]["torch"] == torch.__version__
    assert info["versions"]["numpy"] == np.__version__
    assert {"pennylane", "lightning", "qiskit", "aer"} <= set(info["versions"])
    cpu = info["devices"]["cpu"]
    assert cpu["free_bytes"] > 0
    for dtype, itemsize in (("complex64", 8), ("complex128", 16)):
        n = cpu["max_qubits"][dtype]
        # Largest n with one state plus the kernels' working copies inside free memory.
        assert 2**n * itemsize * WORKING_STATES <= cpu["free_bytes"] < 2 ** (n + 1) * itemsize * WORKING_STATES
    assert cpu["max_qubits"]["complex64"] == cpu["max_qubits"]["complex128"] + 1
    assert abs(cpu["free_bytes"] - free_bytes(torch.device("cpu"))) < 2**30  # same meter, moments apart
    assert set(info["devices"]) == {"cpu"} | {f"cuda:{i}" for i in range(torch.cuda.device_count())}


def test_info_text(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert torch.__version__ in out and "qubits complex64" in out


def test_demo_still_works(capsys):
    result = _json(capsys, ["demo", "--qubits", "4", "--device", "cpu", "--json"])
    assert sum(result["bell_counts"].values()) == 1000
    assert set(result["bell_counts"]) <= {"00", "11"}
    assert result["bell_zz"] == pytest.approx(1.0)
    assert result["qasm_roundtrip_fidelity_vs_qiskit"] == pytest.approx(1.0, abs=1e-9)


def _grover_closed_form(n: int, m: int, k: int) -> float:
    theta = math.asin(math.sqrt(m / 2**n))
    return math.sin((2 * k + 1) * theta) ** 2


def test_run_grover_finds_marked_items(capsys):
    res = _json(capsys, ["run", "grover", "--qubits", "5", "--marked", "3,10", "--seed", "0", "--json"])
    k = math.floor(math.pi / 4 * math.sqrt(32 / 2))
    assert res["iterations"] == k
    assert res["success_probability"] == pytest.approx(_grover_closed_form(5, 2, k), abs=1e-5)
    assert res["best_index"] in (3, 10) and set(res["solutions"]) == {"00011", "01010"}


def test_run_grover_bitstrings_imply_the_register(capsys):
    res = _json(capsys, ["run", "grover", "--marked", "0110", "--seed", "1", "--json"])
    assert res["search_qubits"] == 4 and res["best"] == "0110" and res["best_index"] == 6


def test_run_grover_cnf(tmp_path, capsys):
    clauses = [(1, 2), (-1, 3), (-2, -3), (2, 3)]
    cnf = tmp_path / "f.cnf"
    cnf.write_text("c tiny formula\np cnf 3 4\n" + "".join(" ".join(map(str, c)) + " 0\n" for c in clauses))
    res = _json(capsys, ["run", "grover", "--cnf", str(cnf), "--seed", "2", "--json"])

    def satisfied(bits: str) -> bool:  # variable v is wire v - 1
        return all(any((bits[abs(lit) - 1] == "1") == (lit > 0) for lit in c) for c in clauses)

    truth = {"".join(b) for b in itertools.product("01", repeat=3) if satisfied("".join(b))}
    assert res["found"] and res["best"] in truth and set(res["solutions"]) <= truth
    assert res["n_marked"] == len(truth)


def test_parse_marked_rules():
    assert parse_marked("3,5", 4) == (4, [3, 5])
    assert parse_marked("0011,0101", None) == (4, ["0011", "0101"])
    assert parse_marked("11,3", 2) == (2, ["11", 3])
    with pytest.raises(ValueError, match="give --qubits"):
        parse_marked("3,5", None)
    with pytest.raises(ValueError, match="neither an index nor a 4-bit string"):
        parse_marked("3,x1", 4)


def test_run_shor_factors_15(capsys):
    res = _json(capsys, ["run", "shor", "15", "--seed", "1", "--coprime-bases", "--json"])
    p, q = res["factors"]
    assert p * q == 15 and p > 1 and q > 1
    a = res["base_a"]
    assert math.gcd(a, 15) == 1 and res["quantum_runs"] >= 1
    assert res["period"] == next(r for r in range(1, 15) if pow(a, r, 15) == 1)


def test_run_shor_oracle_finds_the_period(capsys):
    res = _json(capsys, ["run", "shor", "21", "--method", "oracle", "--a", "2", "--seed", "0", "--json"])
    assert math.prod(res["factors"]) == 21 and min(res["factors"]) > 1
    order = next(r for r in range(1, 21) if pow(2, r, 21) == 1)
    assert res["base_a"] == 2 and res["period"] == order == 6 and res["quantum_runs"] >= 1


def test_run_qaoa_cut_value_recomputed(capsys):
    res = _json(capsys, ["run", "qaoa", "--graph", "cycle:6", "--p", "1", "--seed", "0", "--json"])
    graph = nx.cycle_graph(6)
    bits = [int(b) for b in res["best_cut_bits"]]
    cut = sum(1 for u, v in graph.edges if bits[u] != bits[v])
    best = max(sum(1 for u, v in graph.edges if b[u] != b[v]) for b in itertools.product((0, 1), repeat=6))
    assert res["best_cut_value"] == cut and res["max_cut"] == best == 6
    # p = 1 on an even ring: <C>/max is 3/4 at the optimum angles (Farhi et al., arXiv:1411.4028).
    assert res["approximation_ratio"] == pytest.approx(0.75, abs=1e-3)


def test_run_qaoa_edge_list_file(tmp_path, capsys):
    path = tmp_path / "g.txt"
    path.write_text("# triangle plus a weighted tail\n0 1\n1 2\n2 0\n2 3 2.5\n")
    res = _json(capsys, ["run", "qaoa", "--graph", str(path), "--p", "2", "--seed", "0", "--json"])
    edges = [(0, 1, 1.0), (1, 2, 1.0), (2, 0, 1.0), (2, 3, 2.5)]
    best = max(sum(w for u, v, w in edges if b[u] != b[v]) for b in itertools.product((0, 1), repeat=4))
    bits = [int(b) for b in res["best_cut_bits"]]
    assert res["max_cut"] == pytest.approx(best) == 4.5
    assert res["best_cut_value"] == pytest.approx(sum(w for u, v, w in edges if bits[u] != bits[v]))


def test_run_vqe_h2_reaches_full_ci(capsys):
    res = _json(capsys, ["run", "vqe", "--molecule", "H2", "--bond", "0.7414", "--seed", "0", "--json"])
    # H2 / STO-3G at 0.7414 Angstrom: full-CI energy -1.13728 Ha (e.g. O'Malley et al.,
    # Phys. Rev. X 6, 031007 (2016), Fig. 3 near equilibrium; Qiskit Nature / PennyLane docs).
    assert res["exact_energy"] == pytest.approx(-1.13728, abs=2e-4)
    assert res["exact_energy"] - 1e-9 <= res["energy"] <= res["exact_energy"] + 1.6e-3  # chemical accuracy
    assert res["qubits"] == 4


def _tfim_ground(n: int, h: float) -> float:
    """Open-chain TFIM -sum Z_i Z_{i+1} - h sum X_i, dense, by numpy."""
    x, z, one = np.array([[0, 1], [1, 0]]), np.diag([1.0, -1.0]), np.eye(2)

    def site(op, i):
        mats = [op if k == i else one for k in range(n)]
        out = mats[0]
        for m in mats[1:]:
            out = np.kron(out, m)
        return out

    ham = -sum(site(z, i) @ site(z, i + 1) for i in range(n - 1)) - h * sum(site(x, i) for i in range(n))
    return float(np.linalg.eigvalsh(ham)[0])


def test_run_vqe_tfim_against_exact_diagonalisation(capsys):
    res = _json(capsys, ["run", "vqe", "--tfim", "3", "--h", "0.7", "--seed", "0", "--json"])
    assert res["exact_energy"] == pytest.approx(_tfim_ground(3, 0.7), abs=1e-8)
    assert res["exact_energy"] - 1e-9 <= res["energy"] <= res["exact_energy"] + 1e-2


def test_run_human_readable(capsys):
    assert main(["run", "grover", "--qubits", "3", "--marked", "5", "--seed", "0"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("grover:") and "best_index               5" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "grover", "--qubits", "3"], "exactly one of --marked"),
        (["run", "grover", "--qubits", "3", "--marked", "9"], "9"),
        (["run", "vqe", "--molecule", "H2O"], "unknown molecule"),
        (["run", "qaoa", "--graph", "star:5"], "neither regular:D:N"),
    ],
)
def test_run_bad_input_exits_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("hybrid: error:") and message in err


def test_run_unknown_algorithm_exits_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run", "simon"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err

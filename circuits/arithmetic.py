"""Quantum modular arithmetic from ordinary gates, after Beauregard (arXiv:quant-ph/0205095).

Registers are lists of wires, most significant bit first (the engine's convention).
Additions happen in the Fourier basis (Draper, arXiv:quant-ph/0008033): after the QFT
*without* its final swaps (:func:`circuits.qft.qft`), wire j of an m-wire register holding
b carries the phase exp(2 pi i b 2**j / 2**m), so adding a constant a is one phase gate per
wire, P(2 pi a 2**j / 2**m), and controls on the adder are controls on those phase gates.

Building blocks (each returns a :class:`~hybrid.Circuit`):

* :func:`phi_add` -- |phi(b)> -> |phi(b + a mod 2**m)> on m wires (Fourier space);
* :func:`adder` -- QFT, :func:`phi_add`, inverse QFT: |b> -> |b + a mod 2**m>;
* :func:`phi_add_mod` -- doubly controlled |phi(b)> -> |phi((a + b) mod N)> with one
  ancilla (Beauregard's figure 5);
* :func:`cmult_mod` -- |c, x, b> -> |c, x, (b + c a x) mod N> (figure 6);
* :func:`controlled_multiplier` -- |c, x> -> |c, (a**c) x mod N> in place, with the
  controlled swap and the inverse multiplier by a**-1 (figure 7): 2n + 3 wires.
"""

from __future__ import annotations

import math

from hybrid import Circuit
from hybrid._checks import integer, positive_int

from .qft import inverse_qft, qft

__all__ = ["phi_add", "adder", "phi_add_mod", "cmult_mod", "controlled_multiplier", "multiplier_layout"]


def phi_add(a: int, m: int) -> Circuit:
    """Add the constant ``a`` (mod 2**m) to an m-wire register held in the Fourier basis.

    One phase gate per wire; gates whose angle is a multiple of 2 pi are left out.
    """
    m = positive_int(m, "m")
    c = Circuit(m)
    for j in range(m):
        turns = (a * 2**j) % 2**m  # the angle in units of 2 pi / 2**m
        if turns:
            c.p(2 * math.pi * turns / 2**m, j)
    return c


def adder(a: int, m: int) -> Circuit:
    """|b> -> |b + a mod 2**m> on m wires: QFT (no swaps), :func:`phi_add`, inverse QFT."""
    m = positive_int(m, "m")
    return qft(m, swaps=False).compose(phi_add(a, m)).compose(inverse_qft(m, swaps=False))


def phi_add_mod(a: int, modulus: int, n: int) -> Circuit:
    """Doubly controlled modular addition in the Fourier basis (Beauregard, figure 5).

    Wires: ``0, 1`` controls, ``2 .. n + 2`` the register b (n + 1 wires, held as
    phi(b)), ``n + 3`` an ancilla in |0>. For ``0 <= a, b < modulus < 2**n`` it maps
    phi(b) to phi((a + b) mod modulus) when both controls are 1 and leaves b alone
    otherwise; the ancilla returns to |0> either way.

    Why the extra wire on b: b + a < 2 modulus fits in n + 1 bits, and after subtracting
    the modulus the top bit tells whether the difference went negative; it is copied to
    the ancilla (through an inverse QFT) to decide whether to add the modulus back, then
    uncomputed by comparing with a again.
    """
    modulus, n = _check_modulus(modulus, n)
    m = n + 1
    b = list(range(2, 2 + m))
    top, ancilla = b[0], n + 3
    add_a, add_n = phi_add(a % modulus, m), phi_add(modulus, m)
    c = Circuit(n + 4)
    c.ctrl([0, 1], add_a, wires=b)
    c.compose(add_n.inverse(), wires=b)
    c.compose(inverse_qft(m, swaps=False), wires=b)
    c.cx(top, ancilla)  # the sign of b + a - N
    c.compose(qft(m, swaps=False), wires=b)
    c.ctrl(ancilla, add_n, wires=b)
    c.ctrl([0, 1], add_a.inverse(), wires=b)
    c.compose(inverse_qft(m, swaps=False), wires=b)
    c.x(top).cx(top, ancilla).x(top)  # (a + b) mod N - a >= 0 exactly when N was added back: clears the ancilla
    c.compose(qft(m, swaps=False), wires=b)
    return c.ctrl([0, 1], add_a, wires=b)


def cmult_mod(a: int, modulus: int, n: int) -> Circuit:
    """|c>|x>|b>|0> -> |c>|x>|(b + c a x) mod N>|0> (Beauregard, figure 6).

    Wires: ``0`` the control, ``1 .. n`` x (wire 1 most significant), ``n + 1 .. 2n + 1``
    b (n + 1 wires), ``2n + 2`` the ancilla; needs b < N. Adds ``2**i a mod N`` for each
    bit i of x, each addition controlled by the control and that bit.
    """
    modulus, n = _check_modulus(modulus, n)
    layout = multiplier_layout(n)
    b = layout["b"]
    c = Circuit(2 * n + 3)
    c.compose(qft(n + 1, swaps=False), wires=b)
    for i in range(n):
        x_bit = layout["x"][n - 1 - i]  # the bit of weight 2**i
        step = phi_add_mod(pow(2, i, modulus) * a % modulus, modulus, n)
        c.compose(step, wires=[layout["control"], x_bit, *b, layout["ancilla"]])
    return c.compose(inverse_qft(n + 1, swaps=False), wires=b)


def controlled_multiplier(a: int, modulus: int, n: int) -> Circuit:
    """|c>|x>|0>|0> -> |c>|(a**c) x mod N>|0>|0> for x < N (Beauregard, figure 7).

    Multiply into b, swap x and b under the control, then clear the old x by running the
    multiplier for a**-1 mod N backwards: ``x -> a x`` in place on 2n + 3 wires (layout as
    in :func:`cmult_mod`). ``a`` must be invertible mod N.
    """
    modulus, n = _check_modulus(modulus, n)
    if math.gcd(a, modulus) != 1:
        raise ValueError(f"a = {a} shares the factor {math.gcd(a, modulus)} with N = {modulus}; it has no inverse mod N")
    layout = multiplier_layout(n)
    c = cmult_mod(a % modulus, modulus, n)
    for x_wire, b_wire in zip(layout["x"], layout["b"][1:]):  # b's top bit stays 0: a x mod N < 2**n
        c.cswap(layout["control"], x_wire, b_wire)
    return c.compose(cmult_mod(pow(a, -1, modulus), modulus, n).inverse())


def multiplier_layout(n: int) -> dict[str, list[int] | int]:
    """The wires of the 2n + 3-qubit multiplier: control, x (n), b (n + 1), ancilla."""
    return {
        "control": 0,
        "x": list(range(1, n + 1)),
        "b": list(range(n + 1, 2 * n + 2)),
        "ancilla": 2 * n + 2,
    }


def _check_modulus(modulus: int, n: int) -> tuple[int, int]:
    """(modulus, n) as ints, checked: an n-bit register holds 2 <= modulus < 2**n."""
    n = positive_int(n, "n")
    return integer(modulus, f"the modulus (n = {n} bits)", minimum=2, maximum=2**n - 1), n

"""The envelope math on its own (rdconvex.certify.envelope): hulls, outward-rounded
evaluation, and the gap bound, against exact rational references.

The reference curve is f(E) = (1 - E)^2 on [0, 1], 0 beyond (convex, non-increasing):
its points (E, f(E)) and tangent lines b - s E with s = 2(1 - E0), b = 1 - E0^2 are
exact in :class:`fractions.Fraction`, so the envelopes must bracket f *exactly*.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from rdconvex.certify.envelope import (
    Envelope,
    chord_values,
    down,
    line_hull,
    line_values,
    point_hull,
    up,
)


def f(E) -> Fraction:
    E = Fraction(E)
    return (1 - E) ** 2 if E < 1 else Fraction(0)


def reference(touch):
    """Points on f (rounded up) and its tangent lines (rounded down) at ``touch``."""
    E = np.array(touch, dtype=float)
    U = np.array([float(up(float(f(e)))) for e in E])
    s = np.array([2 * (1 - e) for e in E if e < 1])
    b = np.array([float(down(float(1 - Fraction(e) ** 2))) for e in E if e < 1])
    return E, U, s, b


def test_directed_rounding_moves_outward():
    x = np.array([0.1, -3.0, 1e-300, 0.0])
    assert np.all(up(x) > x) and np.all(down(x) < x)


def test_point_hull_drops_points_above_the_chords_and_stops_at_the_lowest():
    E = [0.0, 0.5, 0.25, 1.0, 2.0, 0.75]
    U = [1.0, 0.25, 0.9, 0.0, 0.0, 0.3]  # (0.25, 0.9), (0.75, 0.3) lie above the hull
    assert point_hull(E, U).tolist() == [0, 1, 3]


def test_line_hull_keeps_only_the_lines_on_top_for_positive_E():
    slope = [4.0, 2.0, 1.0, 0.0, 3.0]
    intercept = [1.0, 1.0, 0.75, 0.0, -5.0]  # 4 is above 2 only for E < 0; 3 never
    s, b, breaks = line_hull(slope, intercept)
    assert s.tolist() == [2.0, 1.0, 0.0]
    assert b.tolist() == [1.0, 0.75, 0.0]
    np.testing.assert_allclose(breaks, [0.25, 0.75])


def test_line_values_round_down_and_handle_zero_slope_at_infinity():
    values = line_values([0.0, 3.0], [0.5, 1.0], [np.inf, 0.1])
    assert values[0] == down(0.5)
    assert Fraction(values[1]) <= 1 - 3 * Fraction(0.1)


def test_chord_values_round_up_and_stay_below_the_left_value():
    value = chord_values(0.0, 1.0, 3.0, 0.0, np.array([0.0, 1.0, 3.0]))
    assert value[0] == 1.0
    assert Fraction(value[1]) >= Fraction(2, 3)
    assert value[2] >= 0.0


@pytest.mark.parametrize("touch", [[0.0, 0.5, 1.0], [0.0, 0.1, 0.3, 0.6, 0.9, 1.0],
                                   [0.0, 0.01, 0.02, 0.5, 0.99, 1.0]])
def test_envelopes_bracket_the_curve_exactly(touch):
    E, U, s, b = reference(touch)
    env = Envelope.build(E, U, s, b)
    grid = np.r_[np.linspace(0.0, 1.5, 2001), env.breaks, env.vertex_E]
    lower, upper = env.lower(grid), env.upper(grid)
    for x, lo, hi in zip(grid, lower, upper):
        assert Fraction(lo) <= f(x) <= Fraction(hi)
    # The gap bound holds at every grid point, and is attained (up to rounding).
    assert np.max(upper - lower) <= env.max_gap()
    assert env.max_gap() <= np.max(upper - lower) + 1e-12


def test_max_gap_is_the_exact_worst_case_of_one_chord_and_two_tangents():
    # f on [0, 1] with points and tangents at 0 and 1 only: the tangents meet at E = 1/2
    # (value 0), the chord is 1 - E: the gap there is 1/2, and that is the maximum.
    E, U, s, b = reference([0.0, 1.0])
    env = Envelope.build(E, U, s, b)
    assert env.max_gap() == pytest.approx(0.5, abs=1e-12)
    (segment, gap, where), _ = env.segment_gaps()
    assert segment == 0 and gap == pytest.approx(0.5) and where == pytest.approx(0.5)


def test_the_limit_at_zero_plus_counts_but_a_vertical_line_only_at_zero():
    # Only the point at 0 and R >= 0 on the left: gap 1 at 0+ even with at_min = 1.
    env = Envelope.build([0.0, 1.0], [1.0, 0.0], [], [], at_min=1.0)
    assert env.max_gap() == pytest.approx(1.0)
    assert env.lower(np.array([0.0]), at_min=np.array([True]))[0] == 1.0
    assert env.lower(np.array([1e-300]), at_min=np.array([False]))[0] == 0.0


def test_flat_ray_uses_the_slope_zero_line():
    # A curve that flattens at 0.25 from E = 1 on: the ray's gap is U_last - b0.
    env = Envelope.build([0.0, 1.0], [1.0, 0.25], [1.5], [1.0 + 1e-3], at_min=-math.inf)
    assert env.upper(np.array([5.0]))[0] == 0.25
    env0 = Envelope.build([0.0, 1.0], [1.0, 0.25], [1.5, 0.0], [1.0, 0.25 - 1e-3])
    assert env0.lower(np.array([np.inf]))[0] == down(0.25 - 1e-3)
    assert env0.interval_gaps()[3][-1] == pytest.approx(1e-3)

"""One generic equivariance checker, used by the tests and shown live in the app.

A function f(x_1, ..., x_m) is equivariant when f(g·x_1, ..., g·x_m) = g·f(x_1, ..., x_m). The checker
transforms every input together with its own action, runs f on both, transforms the first output and
reports the largest absolute difference (and the largest relative one).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import torch

Action = Callable[[Any, torch.Tensor], torch.Tensor]  # (group element, tensor) -> transformed tensor


DEFAULT_TOLERANCE = 1e-9  # relative to max(1, output scale): rounding level in float64, far above it in float32


@dataclass(frozen=True)
class EquivarianceReport:
    """The largest absolute and relative differences between f(g·x) and g·f(x), the size of g·f(x), and the
    tolerance the check was made at. The report is true when the check passed: the error and the scale are finite
    and max_abs_error ≤ tolerance · max(1, output_scale). A NaN or infinite output never passes (an infinite scale
    would otherwise excuse any error)."""

    max_abs_error: float
    max_rel_error: float
    output_scale: float
    tolerance: float = DEFAULT_TOLERANCE

    def __bool__(self) -> bool:
        if not (math.isfinite(self.max_abs_error) and math.isfinite(self.output_scale)):
            return False
        return self.max_abs_error <= self.tolerance * max(1.0, self.output_scale)


def _identity_action(g, x):
    return x


INVARIANT: Action = _identity_action


def equivariance_error(
    f: Callable[..., torch.Tensor],
    inputs: Sequence[torch.Tensor],
    g: Any,
    input_actions: Sequence[Action],
    output_action: Action,
    tolerance: float = DEFAULT_TOLERANCE,
) -> EquivarianceReport:
    """Compare f(g·x) with g·f(x).

    Args:
        f: the function under test; called as f(*inputs) and must be deterministic given its inputs
            (pass any randomness in as an input, e.g. a sampled group element or a seeded generator).
        inputs: x_1..x_m.
        g: the group element (anything the actions understand, batched or not).
        input_actions: one action per input; use ``INVARIANT`` for inputs that do not transform.
        output_action: how the group acts on the output.
        tolerance: what the report's truth value checks (see EquivarianceReport).
    """
    if len(inputs) != len(input_actions):
        raise ValueError(f"{len(inputs)} inputs but {len(input_actions)} actions")
    with torch.no_grad():
        y = f(*inputs)
        y_g = f(*[act(g, x) for act, x in zip(input_actions, inputs)])
        expected = output_action(g, y)
    diff = (y_g - expected).abs()
    scale = float(expected.abs().max()) if expected.numel() else 0.0
    err = float(diff.max()) if diff.numel() else 0.0
    return EquivarianceReport(err, err / max(scale, 1e-300), scale, tolerance)


def max_equivariance_error(
    f: Callable[..., torch.Tensor],
    inputs: Sequence[torch.Tensor],
    elements: Sequence[Any],
    input_actions: Sequence[Action],
    output_action: Action,
) -> float:
    """The largest absolute equivariance error over several group elements."""
    return max(equivariance_error(f, inputs, g, input_actions, output_action).max_abs_error for g in elements)

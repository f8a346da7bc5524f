"""Training helpers of the Ising task: greedy descent and the self-improvement targets (float64)."""
import torch

from backend.tasks.ising import (
    IsingOutput,
    energy,
    exact_ground,
    greedy_descent,
    local_field,
    sample_constant_hamiltonians,
    sample_varying_hamiltonians,
)
from backend.tasks.ising_train import improved_states


def test_greedy_descent_never_raises_the_energy_and_ends_in_a_single_flip_minimum():
    J, h, _ = sample_varying_hamiltonians(16, 6, torch.Generator().manual_seed(0))
    s = torch.where(torch.rand(16, 6, 6, generator=torch.Generator().manual_seed(1), dtype=torch.float64) < 0.5, -1.0, 1.0)
    previous = energy(J, h, s)
    for _ in range(30):
        s = greedy_descent(J, h, s, sweeps=1)
        current = energy(J, h, s)
        assert (current <= previous + 1e-12).all()
        previous = current
    assert (2 * s * local_field(J, h, s) >= -1e-12).all()  # no single flip lowers the energy


def test_greedy_descent_keeps_exact_ground_states():
    J, h = sample_constant_hamiltonians(32, 6, torch.Generator().manual_seed(2))
    ground = exact_ground(J, h)
    s = ground.states[torch.arange(32), ground.is_ground.float().argmax(-1)]
    assert torch.equal(greedy_descent(J, h, s, sweeps=3), s)


class ShiftedOracle(torch.nn.Module):
    """A stand-in model that answers the exact ground state of J + offset·scale, scale = mean(|J_x| + |J_y| + |h|):
    wrong in a band along the phase boundaries, right elsewhere."""

    def __init__(self, offset: float):
        super().__init__()
        self.offset = offset

    def forward(self, J, h, *, generator=None, elements=None, canonical=None):
        scale = (J.abs().sum(1) + h.abs()).mean(dim=(-1, -2))
        ground = exact_ground(J + self.offset * scale[:, None, None, None], h)
        states = ground.states[torch.arange(len(J)), ground.is_ground.float().argmax(-1)]
        return IsingOutput(5.0 * states, elements)


def test_improved_states_recover_the_ground_state_where_the_model_is_wrong_near_a_boundary():
    model = ShiftedOracle(offset=0.03)
    J, h = sample_constant_hamiltonians(4000, 4, torch.Generator().manual_seed(3))
    truth = exact_ground(J, h)
    wrong = energy(J, h, torch.sign(model(J, h).logits)) > truth.energy + 1e-9
    J, h, truth_energy = J[wrong], h[wrong], truth.energy[wrong]
    assert len(J) >= 30  # the band is populated
    out = model(J, h)
    target, improved = improved_states(model, J, h, out, torch.Generator().manual_seed(4), proposals=8)
    assert set(target.unique().tolist()) <= {-1.0, 1.0}
    e = energy(J, h, target)
    assert (e[improved] < energy(J, h, torch.sign(out.logits))[improved]).all()
    assert improved.float().mean() > 0.9
    assert torch.isclose(e, truth_energy, atol=1e-9).float().mean() > 0.9


def test_improved_states_flag_nothing_when_the_model_is_already_exact():
    model = ShiftedOracle(offset=0.0)
    J, h = sample_constant_hamiltonians(200, 4, torch.Generator().manual_seed(5))
    out = model(J, h)
    target, improved = improved_states(model, J, h, out, torch.Generator().manual_seed(6), proposals=4)
    assert not improved.any()
    assert torch.allclose(energy(J, h, target), exact_ground(J, h).energy, atol=1e-9)

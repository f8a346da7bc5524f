"""p4m group convolutions on a periodic L×L lattice (Cohen & Welling style, with circular padding).

Features on the group are tensors F of shape (B, C, 8, L, L): F(k, p) is the value at the group element
x ↦ R_k x + p (see backend.groups for the point-group indexing and the action). Layers:

- ``lift_sites``: a site field, constant along the point-group axis (a lifting with a 1×1 kernel).
- ``lift_bonds``: bond fields read in the frame of each point element,
  F(k, p) = (J on the bond {p, p + R_k e_0}, J on the bond {p, p + R_k e_1}).
- ``P4MLiftingConv``: F(k, p) = Σ_δ ψ(R_k⁻¹ δ) f(p + δ).
- ``P4MGroupConv``:  F'(k, p) = Σ_{k', δ} ψ(k⁻¹ k', R_k⁻¹ δ) F(k', p + δ).
- ``project``: the mean over the point-group axis, giving a site field.

Each is exactly equivariant: layer(g·F) = g·layer(F) for every g in p4m, for any L ≥ kernel size.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F_
from torch import nn

from ..groups import D4_INV, D4_MATRICES, D4_MUL

__all__ = ["lift_sites", "lift_bonds", "project", "P4MLiftingConv", "P4MGroupConv", "P4MCNNConfig", "P4MCNN",
           "FrozenP4MCNN"]


def lift_sites(f: torch.Tensor) -> torch.Tensor:
    """(B, C, L, L) -> (B, C, 8, L, L), constant along the point-group axis."""
    return f.unsqueeze(-3).expand(*f.shape[:-2], 8, *f.shape[-2:])


def lift_bonds(J: torch.Tensor) -> torch.Tensor:
    """(B, 2, L, L) bond fields -> (B, 2, 8, L, L) with F(k, p) = (b(p, R_k e_0), b(p, R_k e_1)).

    b(p, +e_d) = J_d(p) and b(p, -e_d) = J_d(p - e_d), where e_0 is the column step and e_1 the row step.
    """
    right, down = J[..., 0, :, :], J[..., 1, :, :]
    left, up = right.roll(1, dims=-1), down.roll(1, dims=-2)
    by_direction = {(0, 1): right, (0, -1): left, (1, 0): down, (-1, 0): up}
    frames = []
    for k in range(8):
        R = D4_MATRICES[k]
        u0, u1 = (R @ torch.tensor([0, 1])).tolist(), (R @ torch.tensor([1, 0])).tolist()
        frames.append(torch.stack([by_direction[tuple(u0)], by_direction[tuple(u1)]], dim=-3))
    return torch.stack(frames, dim=-3)  # (B, 2, 8, L, L)


def project(F: torch.Tensor) -> torch.Tensor:
    """(B, C, 8, L, L) -> (B, C, L, L): the mean over the point-group axis (invariant pooling)."""
    return F.mean(dim=-3)


def _kernel_rotation_index(kernel_size: int) -> torch.Tensor:
    """idx[k, a] = flat kernel position of R_k⁻¹ δ for the flat kernel position a of δ. Shape (8, ks²)."""
    c = kernel_size // 2
    ii, jj = torch.meshgrid(torch.arange(kernel_size) - c, torch.arange(kernel_size) - c, indexing="ij")
    delta = torch.stack([ii.reshape(-1), jj.reshape(-1)], -1)  # (ks², 2)
    out = []
    for k in range(8):
        src = delta @ D4_MATRICES[D4_INV[k]].T + c
        out.append(src[:, 0] * kernel_size + src[:, 1])
    return torch.stack(out)


def _circular_conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    pad = weight.shape[-1] // 2
    if pad:
        x = F_.pad(x, (pad, pad, pad, pad), mode="circular")
    return F_.conv2d(x, weight, bias)


class P4MLiftingConv(nn.Module):
    """Site fields to group features: F(k, p) = Σ_δ ψ(R_k⁻¹ δ) f(p + δ) + b.

    Shapes:
        input: (B, C_in, L, L)
        output: (B, C_out, 8, L, L)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, bias: bool = True):
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError("kernel_size must be odd so that rotations keep the kernel centred on a site")
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size**2) / (in_channels * kernel_size**2) ** 0.5)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.register_buffer("rot_index", _kernel_rotation_index(kernel_size), persistent=False)

    def full_weight(self) -> torch.Tensor:
        ks = self.kernel_size
        w = self.weight[:, :, self.rot_index]  # (C_out, C_in, 8, ks²)
        w = w.permute(0, 2, 1, 3)  # (C_out, 8, C_in, ks²)
        return w.reshape(self.out_channels * 8, self.in_channels, ks, ks)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        B, _, L, _ = f.shape
        bias = None if self.bias is None else self.bias.repeat_interleave(8)
        out = _circular_conv(f, self.full_weight(), bias)  # (B, C_out·8, L, L)
        return out.reshape(B, self.out_channels, 8, L, L)


class P4MGroupConv(nn.Module):
    """Group features to group features: F'(k, p) = Σ_{k', δ} ψ(k⁻¹ k', R_k⁻¹ δ) F(k', p + δ) + b.

    Shapes:
        input: (B, C_in, 8, L, L)
        output: (B, C_out, 8, L, L)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, bias: bool = True):
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError("kernel_size must be odd so that rotations keep the kernel centred on a site")
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        fan_in = in_channels * 8 * kernel_size**2
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, 8, kernel_size**2) / fan_in**0.5)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.register_buffer("rot_index", _kernel_rotation_index(kernel_size), persistent=False)
        self.register_buffer("group_index", D4_MUL[D4_INV], persistent=False)  # [k, k'] = k⁻¹ k'

    def full_weight(self) -> torch.Tensor:
        ks, ci, co = self.kernel_size, self.in_channels, self.out_channels
        # w[o, i, k, k', a] = ψ[o, i, k⁻¹k', R_k⁻¹ δ_a]
        w = self.weight[:, :, self.group_index]  # (C_out, C_in, 8 (k), 8 (k'), ks²)
        rot = self.rot_index[:, None, :].expand(8, 8, ks * ks)
        w = torch.gather(w, -1, rot.expand(co, ci, 8, 8, ks * ks))
        w = w.permute(0, 2, 1, 3, 4)  # (C_out, k, C_in, k', ks²)
        return w.reshape(co * 8, ci * 8, ks, ks)

    def forward(self, F: torch.Tensor) -> torch.Tensor:
        B, C, _, L, _ = F.shape
        bias = None if self.bias is None else self.bias.repeat_interleave(8)
        out = _circular_conv(F.reshape(B, C * 8, L, L), self.full_weight(), bias)
        return out.reshape(B, self.out_channels, 8, L, L)


@dataclass
class P4MCNNConfig:
    site_in: int = 1  # site input channels (field h, encodings)
    bond_in: bool = True  # whether bond fields (J_x, J_y) are an input
    bond_channels: int = 1  # number of bond fields, each with its two directions
    hidden: int = 16
    num_layers: int = 4
    kernel_size: int = 3
    out: int = 1

    def to_dict(self) -> dict:
        return asdict(self)


class P4MCNN(nn.Module):
    """A p4m-equivariant group CNN from site and bond fields to per-site outputs.

    lifting (sites by a lifting conv, bonds by ``lift_bonds`` and a group conv) -> residual blocks of
    SiLU + group conv -> mean over the point-group axis -> site-wise linear map.

    Shapes:
        sites: (B, site_in, L, L); bonds: (B, 2, L, L) (one bond field) or (B, bond_channels, 2, L, L), or None
        output: (B, out, L, L)
    """

    def __init__(self, config: P4MCNNConfig):
        super().__init__()
        c = config
        self.config = c
        self.lift = P4MLiftingConv(c.site_in, c.hidden, c.kernel_size)
        self.bond_lift = P4MGroupConv(2 * c.bond_channels, c.hidden, c.kernel_size, bias=False) if c.bond_in else None
        self.blocks = nn.ModuleList(P4MGroupConv(c.hidden, c.hidden, c.kernel_size) for _ in range(c.num_layers - 1))
        self.head = nn.Sequential(nn.Conv2d(c.hidden, c.hidden, 1), nn.SiLU(), nn.Conv2d(c.hidden, c.out, 1))

    def forward(self, sites: torch.Tensor, bonds: torch.Tensor | None = None) -> torch.Tensor:
        F = self.lift(sites)  # (B, hidden, 8, L, L)
        if self.bond_lift is not None:
            lifted = lift_bonds(self.shared_bonds(bonds))  # (B or 1, bond_channels, 2, 8, L, L)
            F = F + self.bond_lift(lifted.flatten(1, 2))
        for conv in self.blocks:
            F = F + conv(F_.silu(F))
        return self.head(project(F_.silu(F)))

    def shared_bonds(self, bonds: torch.Tensor | None) -> torch.Tensor:
        """The bond input as (B or 1, bond_channels, 2, L, L): one Hamiltonian for many samples (all B equal) is
        kept once, so that its bond term is computed once and broadcast."""
        if bonds is None:
            raise ValueError("this network was built with bond inputs")
        if bonds.dim() == 4:
            bonds = bonds.unsqueeze(1)
        return bonds[:1] if bonds.shape[0] > 1 and bool((bonds == bonds[:1]).all()) else bonds


def _fill_halo(S: torch.Tensor, pad: int) -> torch.Tensor:
    """Periodic halo of a padded buffer S (..., L + 2·pad, L + 2·pad) whose interior holds the field: the same values
    as F.pad(interior, mode="circular"), written in place with four strip copies."""
    L = S.shape[-1] - 2 * pad
    inner = slice(pad, L + pad)
    S[..., :pad, inner] = S[..., L : L + pad, inner]
    S[..., L + pad :, inner] = S[..., pad : 2 * pad, inner]
    S[..., :pad] = S[..., L : L + pad]
    S[..., L + pad :] = S[..., pad : 2 * pad]
    return S


class FrozenP4MCNN(nn.Module):
    """A ``P4MCNN`` for inference: the same call and the same outputs, faster on a CPU (about 1.3× for 16 samples at
    64×64 on one thread; ``threads`` > 1 also splits a batch over several). ``net`` stays a submodule (its
    parameters are the weights); each layer's expanded kernel ``full_weight()`` and repeated bias are computed once,
    at construction, as buffers: later changes to ``net`` are not followed. No gradients (it runs under
    ``torch.no_grad``).

    The layers compute what ``P4MCNN``'s do, on the same values and in the same layout, except that:
    each block writes SiLU(F) straight into the interior of one buffer padded by kernel_size // 2 and copies in its
    periodic halo (``_fill_halo``: the values of the circular ``F.pad`` that the block would allocate), and the
    residual additions are in place; the lifting convolution, whose few input channels oneDNN handles slowly in the
    (B, C, L, L) layout, runs in channels_last. With ``threads`` = n > 1 the convolutions of a batch of B ≥ 2 run
    in min(n, B) contiguous chunks (fewer if a chunk would have under ``MIN_CHUNK_SITES`` sites) at once on Python
    threads (torch releases the GIL inside its operations; each thread keeps torch's intra-op thread count), and the
    head runs on the whole batch again: the samples of a batch never interact. With oneDNN (torch's CPU
    convolutions) the outputs were found equal to ``net``'s bit for bit, split or not: there the convolution of a
    sample does not depend on the batch it is in, while the head's 1×1 convolutions do, hence the head on the whole
    batch. The tests allow float rounding.

    Shapes: as ``P4MCNN``, with sites and bonds of the same batch size B (or bonds of batch 1).
    """

    MIN_CHUNK_SITES = 4096  # smaller chunks are slower on two threads than on one: scripts/lattice_core_speed.py

    def __init__(self, net: P4MCNN, threads: int = 1):
        super().__init__()
        self.net, self.config, self.threads = net, net.config, max(1, threads)
        layers = {"lift": net.lift, "bond": net.bond_lift, **{f"block{i}": conv for i, conv in enumerate(net.blocks)}}
        with torch.no_grad():
            for name, layer in layers.items():
                if layer is not None:
                    self.register_buffer(f"{name}_w", layer.full_weight(), persistent=False)
                    bias = None if layer.bias is None else layer.bias.repeat_interleave(8)
                    self.register_buffer(f"{name}_b", bias, persistent=False)
            self.lift_w = self.lift_w.contiguous(memory_format=torch.channels_last)
        self.blocks = [f"block{i}" for i in range(len(net.blocks))]

    def chunks(self, B: int, L: int) -> int:
        """How many chunks, on as many threads, a batch of B samples of L×L sites is split into."""
        return max(1, min(self.threads, B, B * L * L // self.MIN_CHUNK_SITES))

    @torch.no_grad()
    def forward(self, sites: torch.Tensor, bonds: torch.Tensor | None = None) -> torch.Tensor:
        bonds = None if self.net.bond_lift is None else self.net.shared_bonds(bonds)
        n = self.chunks(sites.shape[0], sites.shape[-1])
        if n == 1:
            F = self._convolutions(sites, bonds)
        else:
            chunks = sites.tensor_split(n)
            bond_chunks = [bonds] * n if bonds is None or bonds.shape[0] == 1 else bonds.tensor_split(n)
            with ThreadPoolExecutor(n - 1) as pool:
                rest = [pool.submit(self._convolutions, s, b) for s, b in zip(chunks[1:], bond_chunks[1:])]
                F = torch.cat([self._convolutions(chunks[0], bond_chunks[0])] + [r.result() for r in rest])
        return self.net.head(project(F_.silu(F.unflatten(1, (self.config.hidden, 8)))))

    @torch.no_grad()
    def _convolutions(self, sites: torch.Tensor, bonds: torch.Tensor | None) -> torch.Tensor:
        """The residual stream F after the last block, (B, hidden·8, L, L)."""
        pad = self.config.kernel_size // 2
        B, _, L, _ = sites.shape
        lifted = F_.pad(sites, (pad,) * 4, mode="circular").contiguous(memory_format=torch.channels_last)
        F = F_.conv2d(lifted, self.lift_w, self.lift_b).contiguous()
        if bonds is not None:
            F.add_(F_.conv2d(F_.pad(lift_bonds(bonds).flatten(1, 3), (pad,) * 4, mode="circular"), self.bond_w))
        S = torch.empty(B, F.shape[1], L + 2 * pad, L + 2 * pad, dtype=F.dtype, device=F.device)
        for name in self.blocks:
            torch.ops.aten.silu.out(F, out=S[..., pad : L + pad, pad : L + pad])
            F.add_(F_.conv2d(_fill_halo(S, pad), getattr(self, f"{name}_w"), getattr(self, f"{name}_b")))
        return F

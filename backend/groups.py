"""Groups and their actions: the permutation group on graph nodes and the lattice group p4m (× Z2).

One convention everywhere: a group element g acts on a field f defined on a set X by

    (g·f)(x) = f(g⁻¹ x),

so the value that sat at x moves to g x, and act(g, act(k, f)) == act(g∘k, f).

Permutations
    A permutation of n nodes is a LongTensor ``p`` of shape (..., n): node i is sent to p[i].
    Composition (p∘q)[i] = p[q[i]] (apply q first). On node features x of shape (..., n, d):
    (p·x)[p[i]] = x[i]; on adjacency or edge features a of shape (..., n, n[, d]):
    (p·a)[p[i], p[j]] = a[i, j]. Padded graphs put their real nodes first and keep the padding fixed.

Lattice group
    Sites of the periodic L×L lattice are (i, j) = (row, column), both mod L; i is the vertical index.
    An element is g = (z, k, t): a point-group element k in D4 (matrix R_k, 8 of them), a translation t
    and, when the spin flip is enabled, a sign z = ±1. g(p) = R_k p + t. Composition
    (k1, t1)(k2, t2) = (k1 k2, R_k1 t2 + t1); signs multiply. The sign multiplies odd fields (the field h,
    spins) and leaves even fields (couplings, learned encodings) alone.
    Bond fields have shape (..., 2, L, L): channel 0 is the horizontal coupling J_x on the bond
    (i, j)–(i, j+1), channel 1 the vertical coupling J_y on the bond (i, j)–(i+1, j).
    Batched elements broadcast against the batch dimensions of a field, right-aligned as in numpy.
    Group-channel features of a group CNN have shape (..., C, 8, L, L) and are functions on p4m:
    F(k, p) is the value at the element (R_k, p); (g·F)(k, p) = F(k_g⁻¹ k, g⁻¹ p).

Orthogonal group O(3)
    An element is a 3×3 orthogonal matrix R (det ±1: rotations and rotoreflections), acting on points about the
    origin by p ↦ R p. A point cloud x of shape (..., n, 3) holds one point per row, so (g·x) = x Rᵀ; vectors
    attached to points (displacements) transform the same way and scalars are invariant. Composition
    (R1∘R2) = R1 R2 (apply R2 first); the inverse is Rᵀ.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache

import torch

__all__ = [
    "Permutation",
    "LatticeElement",
    "LatticeGroup",
    "D4_MATRICES",
    "D4_MUL",
    "D4_INV",
    "O3Element",
]


# ----------------------------------------------------------------------------------------------------------------------
# Permutations


@dataclass(frozen=True)
class Permutation:
    """A (batch of) permutation(s): ``perm[..., i]`` is the image of node i. Its actions run on the device of the
    tensor acted on (the indices move there), as the lattice elements' do.

    Shapes:
        perm: (*batch, n) long
    """

    perm: torch.Tensor

    def __post_init__(self):
        if self.perm.dtype != torch.long:
            object.__setattr__(self, "perm", self.perm.long())

    @property
    def n(self) -> int:
        return self.perm.shape[-1]

    @staticmethod
    def identity(n: int, batch: tuple[int, ...] = (), device=None) -> "Permutation":
        return Permutation(torch.arange(n, device=device).expand(*batch, n).clone())

    @staticmethod
    def random(
        n: int,
        generator: torch.Generator | None = None,
        batch: tuple[int, ...] = (),
        num_nodes: torch.Tensor | None = None,
        device=None,
    ) -> "Permutation":
        """Uniform random permutations. With ``num_nodes`` (shape ``batch``) only the first num_nodes entries
        are permuted and the padding stays fixed."""
        keys = torch.rand(*batch, n, generator=generator)
        if num_nodes is not None:
            pad = torch.arange(n) >= num_nodes.cpu().reshape(*batch, 1)
            keys = torch.where(pad, 2.0 + torch.arange(n, dtype=keys.dtype), keys)
        order = keys.argsort(dim=-1)  # order[k] = node placed at position k
        return Permutation(order.to(device)).inverse()

    def compose(self, other: "Permutation") -> "Permutation":
        """self∘other: apply ``other`` first."""
        return Permutation(torch.gather(self.perm, -1, other.perm))

    __matmul__ = compose

    def inverse(self) -> "Permutation":
        inv = torch.empty_like(self.perm)
        inv.scatter_(-1, self.perm, torch.arange(self.n, device=self.perm.device).expand_as(self.perm))
        return Permutation(inv)

    def act_nodes(self, x: torch.Tensor) -> torch.Tensor:
        """(p·x)[p[i]] = x[i] for node features x of shape (*batch, n) or (*batch, n, d), on x's device."""
        src = self.inverse().perm.to(x.device)
        if x.dim() == src.dim():
            return torch.gather(x, -1, src.expand_as(x))
        if src.numel() == src.shape[-1]:  # one permutation for every batch item: a row gather
            return x.index_select(-2, src.reshape(-1))
        idx = src.unsqueeze(-1).expand(*src.shape, x.shape[-1]).expand(*x.shape[:-1], x.shape[-1])
        return torch.gather(x, -2, idx)

    def act_edges(self, a: torch.Tensor) -> torch.Tensor:
        """(p·a)[p[i], p[j]] = a[i, j] for a of shape (*batch, n, n) or (*batch, n, n, d), on a's device."""
        src = self.inverse().perm.to(a.device)
        scalar = a.dim() == src.dim() + 1
        if scalar:
            a = a.unsqueeze(-1)
        n, d = self.n, a.shape[-1]
        batch = a.shape[:-3]
        src = src.expand(*batch, n)
        rows = torch.gather(a, -3, src[..., :, None, None].expand(*batch, n, n, d))
        out = torch.gather(rows, -2, src[..., None, :, None].expand(*batch, n, n, d))
        return out.squeeze(-1) if scalar else out

    def matrix(self, dtype=torch.float64) -> torch.Tensor:
        """Permutation matrix P with P[p[i], i] = 1, so (p·x) = P x and (p·A) = P A Pᵀ."""
        zeros = torch.zeros(*self.perm.shape, self.n, dtype=dtype, device=self.perm.device)
        return zeros.scatter_(-2, self.perm.unsqueeze(-2), 1.0)

    def tolist(self):
        return self.perm.tolist()


# ----------------------------------------------------------------------------------------------------------------------
# The point group D4 acting on (row, column) coordinates

_ROT = torch.tensor([[0, -1], [1, 0]])  # 90° rotation of (i, j)
_REF = torch.tensor([[1, 0], [0, -1]])  # mirror: j -> -j


def _d4_matrices() -> torch.Tensor:
    mats = []
    for flip in range(2):
        for rot in range(4):
            mats.append(torch.linalg.matrix_power(_ROT, rot) @ torch.linalg.matrix_power(_REF, flip))
    return torch.stack(mats)


D4_MATRICES = _d4_matrices()  # (8, 2, 2): element k = 4·flip + rot is R^rot M^flip


def _d4_index(mat: torch.Tensor) -> int:
    return int(next(k for k in range(8) if torch.equal(D4_MATRICES[k], mat)))


D4_MUL = torch.tensor([[_d4_index(D4_MATRICES[a] @ D4_MATRICES[b]) for b in range(8)] for a in range(8)])
D4_INV = torch.tensor([int((D4_MUL[a] == 0).nonzero()) for a in range(8)])


# ----------------------------------------------------------------------------------------------------------------------
# Lattice group elements


@dataclass(frozen=True)
class LatticeElement:
    """A (batch of) element(s) of p4m (× Z2) on an L×L periodic lattice.

    Shapes:
        point: (*batch,) long in 0..7 (index into D4_MATRICES)
        shift: (*batch, 2) long, the translation (rows, columns) mod L
        sign:  (*batch,) long, ±1 (always +1 without the spin flip)
    """

    L: int
    point: torch.Tensor
    shift: torch.Tensor
    sign: torch.Tensor

    @property
    def batch_shape(self) -> torch.Size:
        return self.point.shape

    @staticmethod
    def identity(L: int, batch: tuple[int, ...] = ()) -> "LatticeElement":
        return LatticeElement(
            L, torch.zeros(batch, dtype=torch.long), torch.zeros(*batch, 2, dtype=torch.long),
            torch.ones(batch, dtype=torch.long),
        )

    def compose(self, other: "LatticeElement") -> "LatticeElement":
        """self∘other: (k1, t1)(k2, t2) = (k1 k2, R_k1 t2 + t1)."""
        R = D4_MATRICES[self.point]
        shift = (torch.einsum("...ab,...b->...a", R, other.shift) + self.shift) % self.L
        return LatticeElement(self.L, D4_MUL[self.point, other.point], shift, self.sign * other.sign)

    __matmul__ = compose

    def inverse(self) -> "LatticeElement":
        inv = D4_INV[self.point]
        shift = (-torch.einsum("...ab,...b->...a", D4_MATRICES[inv], self.shift)) % self.L
        return LatticeElement(self.L, inv, shift, self.sign.clone())

    def __getitem__(self, idx) -> "LatticeElement":
        return LatticeElement(self.L, self.point[idx], self.shift[idx], self.sign[idx])

    def to_dicts(self) -> list[dict]:
        """JSON-friendly description of each element in the batch (flattened)."""
        names = ["identity", "rot90", "rot180", "rot270", "mirror", "rot90·mirror", "rot180·mirror", "rot270·mirror"]
        out = []
        for k, t, z in zip(self.point.reshape(-1).tolist(), self.shift.reshape(-1, 2).tolist(), self.sign.reshape(-1).tolist()):
            out.append({"point": k, "point_name": names[k], "matrix": D4_MATRICES[k].tolist(), "shift": t, "sign": z})
        return out

    # --- actions ------------------------------------------------------------------------------------------------------

    def site_sources(self) -> torch.Tensor:
        """Flat index of g⁻¹ p for every target site p. Shape (*batch, L·L)."""
        return _site_sources(self.inverse(), self.L)

    def act_sites(self, f: torch.Tensor, odd: bool = False) -> torch.Tensor:
        """(g·f)(p) = z^odd · f(g⁻¹ p) for site fields f of shape (*batch, C, L, L)."""
        L = self.L
        src = self.site_sources()  # (*batch, L·L)
        flat = f.reshape(*f.shape[:-2], L * L)  # (*batch, C, L·L)
        shape = torch.broadcast_shapes(src.shape[:-1], flat.shape[:-2])
        flat = flat.expand(*shape, *flat.shape[-2:])
        idx = src.to(f.device).reshape(*src.shape[:-1], 1, L * L).expand_as(flat)
        out = torch.gather(flat, -1, idx).reshape(*flat.shape[:-1], L, L)
        if odd:
            out = out * self.sign.reshape(*self.batch_shape, 1, 1, 1).to(device=f.device, dtype=f.dtype)
        return out

    def act_bonds(self, J: torch.Tensor) -> torch.Tensor:
        """Action on bond fields J of shape (*batch, 2, L, L) (channel 0 horizontal, 1 vertical).

        The bond {p, p + e_d} is sent to {g p, g p + R e_d}. For a target bond (d', q) the source is found from
        a = g⁻¹ q and R⁻¹ e_d' = σ e_d: it is the bond (d, a) if σ = +1 and (d, a - e_d) if σ = -1.
        Couplings are even under the spin flip.
        """
        L = self.L
        inv = self.inverse()
        R = D4_MATRICES[inv.point]  # (*batch, 2, 2)
        a = (torch.einsum("...ab,nb->...na", R, _coords(L)) + inv.shift.unsqueeze(-2)) % L  # (*batch, L·L, 2)
        parts = []
        for d_target in range(2):
            u = torch.einsum("...ab,b->...a", R, _UNIT[d_target])  # (*batch, 2) = σ e_d
            d = (u[..., 0] != 0).long()
            sigma = u.sum(-1)
            start = torch.where((sigma > 0)[..., None, None], a, (a - _UNIT[d].unsqueeze(-2)) % L)
            parts.append(d[..., None] * L * L + start[..., 0] * L + start[..., 1])
        idx = torch.cat(parts, dim=-1).to(J.device)  # (*batch, 2·L·L)
        flat = J.reshape(*J.shape[:-3], 2 * L * L)
        idx = idx.expand(*torch.broadcast_shapes(idx.shape[:-1], flat.shape[:-1]), idx.shape[-1])
        flat = flat.expand(*idx.shape)
        return torch.gather(flat, -1, idx).reshape(*idx.shape[:-1], 2, L, L)

    def act_group_channels(self, F: torch.Tensor, odd: bool = False) -> torch.Tensor:
        """(g·F)(k, p) = F(k_g⁻¹ k, g⁻¹ p) for F of shape (*batch, C, 8, L, L)."""
        spatial = self.act_sites(F.flatten(-4, -3), odd=odd)
        spatial = spatial.reshape(*spatial.shape[:-3], F.shape[-4], 8, self.L, self.L)
        rows = D4_MUL[D4_INV[self.point]]  # (*batch, 8): source point index for each target k
        idx = rows.to(F.device).reshape(*self.batch_shape, 1, 8, 1, 1)
        return torch.gather(spatial, -3, idx.expand_as(spatial))

    def act_site_coords(self, p: torch.Tensor) -> torch.Tensor:
        """g p for coordinates p of shape (..., 2)."""
        return (torch.einsum("...ab,...b->...a", D4_MATRICES[self.point], p) + self.shift) % self.L


def _site_sources(g: LatticeElement, L: int) -> torch.Tensor:
    """Flat index of g p for every site p (so pass g⁻¹ to get sources). Shape (*batch, L·L)."""
    coords = _coords(L)  # (L·L, 2)
    R = D4_MATRICES[g.point]  # (*batch, 2, 2)
    img = (torch.einsum("...ab,nb->...na", R, coords) + g.shift.unsqueeze(-2)) % L
    return img[..., 0] * L + img[..., 1]


@lru_cache(maxsize=None)
def _coords(L: int) -> torch.Tensor:
    ii, jj = torch.meshgrid(torch.arange(L), torch.arange(L), indexing="ij")
    return torch.stack([ii.reshape(-1), jj.reshape(-1)], dim=-1)


_UNIT = torch.tensor([[0, 1], [1, 0]])  # e_0 = horizontal (column +1), e_1 = vertical (row +1)


# ----------------------------------------------------------------------------------------------------------------------
# The lattice group as a whole


@dataclass(frozen=True)
class LatticeGroup:
    """p4m on an L×L periodic lattice, optionally times the global spin flip Z2.

    |G| = 8·L² (or 16·L² with the spin flip). Elements are enumerated in the order
    (sign, point, row shift, column shift), sign +1 first.
    """

    L: int
    spin_flip: bool = False

    @property
    def order(self) -> int:
        return 8 * self.L**2 * (2 if self.spin_flip else 1)

    def identity(self, batch: tuple[int, ...] = ()) -> LatticeElement:
        return LatticeElement.identity(self.L, batch)

    def elements(self) -> LatticeElement:
        """All elements as one batched LatticeElement of shape (order,)."""
        return _enumerate(self.L, self.spin_flip)

    def element(self, index: torch.Tensor) -> LatticeElement:
        return self.elements()[index]

    def sample(self, batch: tuple[int, ...] = (), generator: torch.Generator | None = None) -> LatticeElement:
        idx = torch.randint(self.order, batch, generator=generator)
        return self.element(idx)


@lru_cache(maxsize=None)
def _enumerate(L: int, spin_flip: bool) -> LatticeElement:
    signs = [1, -1] if spin_flip else [1]
    rows = list(itertools.product(signs, range(8), range(L), range(L)))
    t = torch.tensor(rows, dtype=torch.long)
    return LatticeElement(L, t[:, 1].contiguous(), t[:, 2:4].contiguous(), t[:, 0].contiguous())


# ----------------------------------------------------------------------------------------------------------------------
# The orthogonal group O(3)


@dataclass(frozen=True)
class O3Element:
    """A (batch of) element(s) of O(3) as orthogonal matrices; R sends the point p to R p.

    Shapes:
        matrix: (*batch, 3, 3) floating
    """

    matrix: torch.Tensor

    def __post_init__(self):
        if self.matrix.shape[-2:] != (3, 3) or not self.matrix.is_floating_point():
            raise ValueError(f"an O(3) element is a floating (..., 3, 3) matrix, got {tuple(self.matrix.shape)} "
                             f"{self.matrix.dtype}")

    @property
    def batch_shape(self) -> torch.Size:
        return self.matrix.shape[:-2]

    @staticmethod
    def identity(batch: tuple[int, ...] = (), dtype=torch.float64) -> "O3Element":
        return O3Element(torch.eye(3, dtype=dtype).expand(*batch, 3, 3).clone())

    @staticmethod
    def random(batch: tuple[int, ...] = (), generator: torch.Generator | None = None, dtype=torch.float64,
               proper: bool = False) -> "O3Element":
        """Haar-random elements of O(3) (or SO(3) with ``proper``): the Q of a QR decomposition of a Gaussian
        matrix, its columns' signs fixed by R's diagonal (Mezzadri 2007), which is Haar on O(3); a proper draw
        then flips the first column where det = −1 (Haar on SO(3))."""
        a = torch.randn(*batch, 3, 3, generator=generator, dtype=dtype)
        q, r = torch.linalg.qr(a)
        q = q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1)).unsqueeze(-2)
        if proper:
            q = q.clone()
            q[..., :, 0] *= torch.linalg.det(q).unsqueeze(-1)
        return O3Element(q)

    def compose(self, other: "O3Element") -> "O3Element":
        """self∘other: apply ``other`` first."""
        return O3Element(self.matrix @ other.matrix)

    def inverse(self) -> "O3Element":
        return O3Element(self.matrix.transpose(-1, -2))

    def __getitem__(self, idx) -> "O3Element":
        return O3Element(self.matrix[idx])

    def det(self) -> torch.Tensor:
        return torch.linalg.det(self.matrix)

    def act_points(self, x: torch.Tensor) -> torch.Tensor:
        """g·x for points (or vectors) x of shape (*batch, n, 3): row i becomes R x_i."""
        return x @ self.matrix.transpose(-1, -2).to(x.dtype)

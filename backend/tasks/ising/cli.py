"""``python -m backend predict ising``: sample spin states from a shipped Ising model.

    --jx X --jy Y --h H       constant couplings and field (finite numbers, |value| ≤ 1000)
    --couplings FILE          spatially varying input instead: JSON {"jx": .., "jy": .., "h": ..} where each entry is a
                              number or an L×L list of numbers, or a .npy array of shape (3, L, L) = (J_x, J_y, h)
    --L 8                     lattice size (even, 4..64); taken from FILE when given
    --variant sympe           none | noise | sympe | fixed
    --samples 1 --seed 0
    --search 0                P > 0: each sample is the best of the model's own state and its states for P
                              nearby Hamiltonians, by true energy (backend.tasks.ising.nearby_search); 0 is off

The work of one run, K × (P + 1) × L² lattice sites through the model, is at most ``MAX_SITES`` (64³: about
1 GB and a few seconds); larger requests give one line on stderr and exit code 2 like every bad input.

Output JSON: "spins" grids are lists of rows of ±1 (row i is the vertical index), their energies, the exact ground
energy for constant inputs (null otherwise, with a simulated-annealing reference instead) and the sampled group
elements (sympe only).
"""
from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import torch

from ...checkpoints import CheckpointError
from ...options import UsageError, bounded, integer_option
from .data import constant_couplings, energy, exact_ground, phase_of, simulated_annealing
from .model import VARIANTS, load_ising, nearby_search, spins_from_logits

MAX_FILE_BYTES = 1_000_000
MAX_ABS_VALUE = 1000.0
MAX_SITES = 64**3


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("ising", help="spin states of an Ising Hamiltonian")
    p.add_argument("--jx", type=str, default=None)
    p.add_argument("--jy", type=str, default=None)
    p.add_argument("--h", dest="field", type=str, default=None)
    p.add_argument("--L", type=str, default=None)
    p.add_argument("--variant", choices=VARIANTS, default="sympe")
    p.add_argument("--samples", type=bounded("samples", 1, 1000), default=1)
    p.add_argument("--seed", type=bounded("seed", 0, 2**63 - 1), default=0)
    p.add_argument("--search", type=bounded("search", 0, 64), default=0)
    p.add_argument("--couplings", default=None)
    p.set_defaults(handler=run)


def _number(name: str, text: str) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise UsageError(f"--{name} must be a number, got {text!r}") from None
    if not math.isfinite(value) or abs(value) > MAX_ABS_VALUE:
        raise UsageError(f"--{name} must be finite with |value| <= {MAX_ABS_VALUE:g}, got {text!r}")
    return value


def _check_L(L: int) -> int:
    if L % 2 or not 4 <= L <= 64:
        raise UsageError(f"L must be even and between 4 and 64, got {L}")
    return L


def _field(name: str, value, L: int | None) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        if L is None:
            raise UsageError(f"couplings file: {name} is a number but no L×L entry gives the size (pass --L)")
        arr = np.full((L, L), float(arr))
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise UsageError(f"couplings file: {name} must be a number or a square L×L list, got shape {list(arr.shape)}")
    return arr


def _load_npy(data: bytes) -> np.ndarray:
    """A .npy array whose header is checked before anything is allocated: a numeric dtype and a shape whose data
    fits in the file (so a header cannot claim a huge array)."""
    stream = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(stream)
    except ValueError:
        raise UsageError("couplings .npy is not a NumPy .npy file (an .npz archive or another format renamed?)") from None
    read_header = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}.get(version)
    if read_header is None:
        raise UsageError(f"couplings .npy has an unsupported format version {version}")
    shape, _, dtype = read_header(stream)
    if dtype.hasobject or dtype.kind not in "fiu":
        raise UsageError(f"couplings .npy must hold numbers, got dtype {dtype}")
    if math.prod(shape) * dtype.itemsize > len(data):
        raise UsageError(f"couplings .npy header claims shape {list(shape)}, more data than the file holds")
    return np.load(io.BytesIO(data), allow_pickle=False)


def read_couplings(path: str, L: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """J (2, L, L) and h (L, L) in float64 from a JSON or .npy file; raises UsageError with one-line messages."""
    p = Path(path)
    try:
        if not p.exists():
            raise UsageError(f"couplings file {path!r} does not exist")
        if not p.is_file():
            raise UsageError(f"couplings file {path!r} is not a regular file")
        if p.stat().st_size > MAX_FILE_BYTES:
            raise UsageError(f"couplings file is larger than {MAX_FILE_BYTES} bytes")
        data = p.read_bytes()
        if p.suffix.lower() == ".npy":
            arr = _load_npy(data)
            if arr.dtype.kind not in "fiu" or arr.ndim != 3 or arr.shape[0] != 3 or arr.shape[1] != arr.shape[2]:
                raise UsageError(f"couplings .npy must be a numeric array of shape (3, L, L), got {arr.dtype} {list(arr.shape)}")
            fields = [np.asarray(a, dtype=np.float64) for a in arr]
        elif p.suffix.lower() == ".json":
            obj = json.loads(data.decode("utf-8"))
            if not isinstance(obj, dict) or not {"jx", "jy", "h"} <= set(obj):
                raise UsageError('couplings JSON must be an object with keys "jx", "jy" and "h"')
            sizes = [len(obj[k]) for k in ("jx", "jy", "h") if isinstance(obj[k], list)]
            size = sizes[0] if sizes else L
            fields = [_field(k, obj[k], size) for k in ("jx", "jy", "h")]
        else:
            raise UsageError(f"couplings file must end in .json or .npy, got {p.name!r}")
    except RecursionError:
        raise UsageError(f"couplings file {p.name!r} is nested too deeply to be a couplings object") from None
    except (ValueError, TypeError, UnicodeDecodeError, OSError, OverflowError, EOFError) as e:
        raise UsageError(f"couplings file {p.name!r} cannot be read: {e}") from None
    shapes = {f.shape for f in fields}
    if len(shapes) != 1:
        raise UsageError(f"couplings file: jx, jy and h must have the same L×L shape, got {sorted(shapes)}")
    stacked = np.stack(fields)
    if not np.isfinite(stacked).all() or np.abs(stacked).max() > MAX_ABS_VALUE:
        raise UsageError(f"couplings file: all values must be finite with |value| <= {MAX_ABS_VALUE:g}")
    _check_L(stacked.shape[-1])
    t = torch.from_numpy(stacked)
    return t[:2].contiguous(), t[2].contiguous()


def run(args) -> dict:
    try:
        samples, seed, search = args.samples, args.seed, args.search
        L_arg = None if args.L is None else _check_L(integer_option("L", args.L, 2, 64))
        if args.couplings is not None:
            if any(v is not None for v in (args.jx, args.jy, args.field)):
                raise UsageError("give either --couplings FILE or --jx/--jy/--h, not both")
            J, h = read_couplings(args.couplings, L_arg)
            if L_arg is not None and L_arg != h.shape[-1]:
                raise UsageError(f"--L {L_arg} does not match the {h.shape[-1]}×{h.shape[-1]} couplings file")
            constant = bool((J == J[:, :1, :1]).all() and (h == h[0, 0]).all())
        else:
            missing = [n for n, v in (("jx", args.jx), ("jy", args.jy), ("h", args.field)) if v is None]
            if missing:
                raise UsageError("missing " + ", ".join(f"--{m}" for m in missing) + " (or give --couplings FILE)")
            L = L_arg or 8
            J, h = constant_couplings(_number("jx", args.jx), _number("jy", args.jy), _number("h", args.field), L)
            J, h = J[0], h[0]
            constant = True
        L = h.shape[-1]
        if samples * (search + 1) * L * L > MAX_SITES:
            raise UsageError(f"--samples × (--search + 1) × L² must be at most {MAX_SITES:,}; with L = {L}, "
                             f"--samples × (--search + 1) at most {MAX_SITES // (L * L)}")
        model = load_ising(args.variant)
    except CheckpointError as e:
        raise UsageError(f"model ising/{args.variant} is not available: {e}") from None

    if L != model.config.L:
        model = model.at_size(L)
    generator = torch.Generator().manual_seed(seed)
    Jf, hf = J[None].float(), h[None].float()
    canonical = model.canonicalize(Jf, hf)[[0] * samples] if model.config.encoding.canonicalizes else None  # one input, K samples
    with torch.no_grad():
        out = model(Jf.expand(samples, 2, L, L), hf.expand(samples, L, L), generator=generator, canonical=canonical)
    Jk, hk = J[None].expand(samples, 2, L, L), h[None].expand(samples, L, L)
    spins = nearby_search(model, Jk, hk, out, generator, search) if search else spins_from_logits(out.logits).double()
    energies = energy(J[None], h[None], spins)
    result = {
        "L": L,
        "variant": args.variant,
        "seed": seed,
        "search": search,
        "input": {"constant": constant},
        "samples": [{"spins": s.int().tolist(), "energy": float(e)} for s, e in zip(spins, energies)],
        "elements": None if out.elements is None else out.elements.to_dicts(),
    }
    if constant:
        jx, jy, hv = float(J[0, 0, 0]), float(J[1, 0, 0]), float(h[0, 0])
        result["input"].update(jx=jx, jy=jy, h=hv, phase=phase_of(jx, jy, hv))
        result["exact_ground_energy"] = float(exact_ground(J[None], h[None]).energy[0])
    else:
        result["exact_ground_energy"] = None
        ref, _ = simulated_annealing(J[None], h[None], torch.Generator().manual_seed(seed), runs=16, sweeps=600)
        result["annealing_reference_energy"] = float(ref[0])
    return result

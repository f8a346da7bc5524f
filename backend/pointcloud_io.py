"""Validated reading of point clouds: XYZ files and JSON.

XYZ: the first line is the number of points n, the second a comment (ignored), then n lines ``type x y z`` (the
type is a word such as an element symbol; further columns are refused). JSON: ``{"points": [[x, y, z], ...]}``
with an optional ``"types": [...]`` of one short string per point; no other keys. Both are bounded (bytes,
points, type length), coordinates must be finite numbers and every fault is a PointCloudInputError whose message
is one printable line naming the file and the line or entry.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

from .options import one_line
from .pointcloud import MAX_POINTS

__all__ = ["PointCloudInputError", "ParsedCloud", "load_point_cloud", "parse_point_cloud", "FORMATS", "MAX_BYTES"]

FORMATS = ("xyz", "json")
MAX_BYTES = 1_000_000
MAX_TYPE_CHARS = 16
MAX_COORDINATE = 1e6
_MAX_MESSAGE = 300


class PointCloudInputError(ValueError):
    """A point-cloud input that cannot be used; the message is one printable line."""

    def __init__(self, message: object) -> None:
        text = one_line(message)
        super().__init__(text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…")


@dataclass(frozen=True)
class ParsedCloud:
    points: list[list[float]]
    types: list[str] | None

    @property
    def n(self) -> int:
        return len(self.points)


def format_for_path(path: str | os.PathLike[str]) -> str:
    suffix = Path(path).suffix.lower()
    if suffix == ".xyz":
        return "xyz"
    if suffix == ".json":
        return "json"
    raise PointCloudInputError(f"{Path(path).name}: unknown extension {suffix or '(none)'!r}; use .xyz or .json, or --format")


def load_point_cloud(path: str | os.PathLike[str], fmt: str | None = None, max_points: int = MAX_POINTS) -> ParsedCloud:
    """Read and validate the file at ``path`` (a regular file of at most MAX_BYTES)."""
    p = Path(path)
    fmt = format_for_path(p) if fmt is None else fmt
    source = f"{p.name} ({fmt})"
    try:
        if not p.is_file():
            raise PointCloudInputError(f"{source}: " + ("file not found" if not p.exists() else "not a regular file"))
        with p.open("rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise PointCloudInputError(f"{source}: cannot read file ({exc.strerror or type(exc).__name__})") from None
    return parse_point_cloud(data, fmt, source=source, max_points=max_points)


def parse_point_cloud(data: bytes, fmt: str, source: str | None = None, max_points: int = MAX_POINTS) -> ParsedCloud:
    """Parse ``data`` in ``fmt`` ("xyz" or "json"); ``source`` names the input in messages."""
    source = source or f"{fmt} input"
    if fmt not in FORMATS:
        raise PointCloudInputError(f"{source}: unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if len(data) > MAX_BYTES:
        raise PointCloudInputError(f"{source}: more than {MAX_BYTES} bytes")
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise PointCloudInputError(f"{source}: not UTF-8 text (byte {exc.start})") from None
    cloud = _parse_xyz(text, source) if fmt == "xyz" else _parse_json(text, source)
    if cloud.n > max_points:
        raise PointCloudInputError(f"{source}: {cloud.n} points; at most {max_points} are supported")
    return cloud


def _number(token: object, where: str) -> float:
    if isinstance(token, bool) or not isinstance(token, (int, float, str)):
        raise PointCloudInputError(f"{where}: a coordinate must be a number, got {type(token).__name__}")
    try:
        value = float(token)
    except (ValueError, OverflowError):
        raise PointCloudInputError(f"{where}: {str(token)[:40]!r} is not a number") from None
    if not math.isfinite(value) or abs(value) > MAX_COORDINATE:
        raise PointCloudInputError(f"{where}: coordinates must be finite and at most {MAX_COORDINATE:g} in size, got {str(token)[:40]}")
    return value


def _type(token: object, where: str) -> str:
    if not isinstance(token, str) or not token or len(token) > MAX_TYPE_CHARS or not token.isprintable() or token.strip() != token:
        raise PointCloudInputError(f"{where}: a type is a printable word of 1 to {MAX_TYPE_CHARS} characters, got {str(token)[:40]!r}")
    return token


def _parse_xyz(text: str, source: str) -> ParsedCloud:
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise PointCloudInputError(f"{source}: line 1 must hold the number of points")
    try:
        n = int(lines[0].strip())
    except ValueError:
        raise PointCloudInputError(f"{source}: line 1 must hold the number of points, got {lines[0].strip()[:40]!r}") from None
    if not 0 <= n <= MAX_POINTS:
        raise PointCloudInputError(f"{source}: line 1 says {n} points; between 0 and {MAX_POINTS} are supported")
    body = lines[2 : 2 + n]
    if len(body) < n:
        raise PointCloudInputError(f"{source}: line 1 says {n} points but only {len(body)} point lines follow")
    extra = [line for line in lines[2 + n :] if line.strip()]
    if extra:
        raise PointCloudInputError(f"{source}: line {3 + n} and after: more lines than the {n} points line 1 announces")
    points, types = [], []
    for i, line in enumerate(body, start=3):
        parts = line.split()
        if len(parts) != 4:
            raise PointCloudInputError(f"{source}: line {i} must be 'type x y z', got {len(parts)} columns")
        types.append(_type(parts[0], f"{source}: line {i}"))
        points.append([_number(t, f"{source}: line {i}") for t in parts[1:]])
    return ParsedCloud(points, types)


def _parse_json(text: str, source: str) -> ParsedCloud:
    try:
        obj = json.loads(text, parse_constant=lambda c: c)
    except (ValueError, RecursionError) as exc:
        raise PointCloudInputError(f"{source}: not valid JSON ({str(exc)[:80]})") from None
    if not isinstance(obj, dict) or "points" not in obj:
        raise PointCloudInputError(f'{source}: expected an object {{"points": [[x, y, z], ...], "types": [...]}}')
    unknown = sorted(set(obj) - {"points", "types"})
    if unknown:
        raise PointCloudInputError(f"{source}: unknown key {unknown[0][:40]!r} (allowed: points, types)")
    raw = obj["points"]
    if not isinstance(raw, list) or len(raw) > MAX_POINTS:
        raise PointCloudInputError(f"{source}: 'points' must be a list of at most {MAX_POINTS} [x, y, z] triples")
    points = []
    for i, p in enumerate(raw):
        if not isinstance(p, list) or len(p) != 3:
            raise PointCloudInputError(f"{source}: points[{i}] must be [x, y, z]")
        points.append([_number(t, f"{source}: points[{i}]") for t in p])
    types = obj.get("types")
    if types is not None:
        if not isinstance(types, list) or len(types) != len(points):
            raise PointCloudInputError(f"{source}: 'types' must be a list with one entry per point ({len(points)})")
        types = [_type(t, f"{source}: types[{i}]") for i, t in enumerate(types)]
    return ParsedCloud(points, types)

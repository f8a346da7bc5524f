"""Shared by the checkpoint tests: the manifest entry of a shipped model, or a skip that says why it is absent."""
from __future__ import annotations

import pytest

from backend.checkpoints import PRETRAINED, manifest_entry


def shipped_or_skip(key: str) -> dict:
    """The manifest entry of ``key`` ("<experiment>/<variant>"); skips the test when it or its weights are absent."""
    entry = manifest_entry(key)
    if entry is None:
        pytest.skip(f"{key} has no entry in pretrained/manifest.json (not trained yet)")
    if not (PRETRAINED / entry["file"]).exists():
        pytest.skip(f"weights pretrained/{entry['file']} for {key} are absent")
    return entry

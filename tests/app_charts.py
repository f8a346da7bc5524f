"""The figures an AppTest run sent, whichever element carries them: ``st.plotly_chart`` (a spec) or the live chart of
app/live_chart.py (a JSON payload whose ``figure`` is the spec). Keys are the keys the page gave them."""
from __future__ import annotations

import json

from app import live_chart


def element_key(element) -> str:
    """The user key of a keyed element: Streamlit's element id is ``$$ID-<hash>-<key>``."""
    return element.proto.id.split("-", 2)[2]


def is_chart(element) -> bool:
    return getattr(element, "type", "") == "plotly_chart" or (
        getattr(element, "type", "") == "bidi_component" and element.proto.component_name == live_chart.COMPONENT)


def spec(element) -> dict:
    if element.type == "plotly_chart":
        return json.loads(element.proto.spec)
    return json.loads(json.loads(element.proto.json))["figure"]


def charts(at) -> dict[str, dict]:
    """Every figure of the page in page order, as a plotly spec, by its key (a keyless one by its element id)."""
    found = {}

    def walk(node):
        for _, child in sorted(getattr(node, "children", {}).items()):
            if is_chart(child):
                key = element_key(child)
                found[child.proto.id if key == "None" else key] = spec(child)
            walk(child)

    walk(at.main)
    return found

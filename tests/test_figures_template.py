"""The one plotly template of every figure (app/figures.py): text sizes that scale with the presenter mode,
automatic margins, titles wrapped to a line length, and no builder that sets a text size or a title font itself."""
from __future__ import annotations

import numpy as np
import plotly.io as pio
from hypothesis import given
from hypothesis import strategies as st

from app import figures, graphs
from test_app import every_builders_figure

WORDS = st.text(alphabet=st.characters(codec="utf-8", exclude_characters=" <>\n\r"), min_size=1, max_size=40)


def fewest_lines(words: list[str], width: int) -> int:
    """The fewest lines of at most ``width`` characters the words fit in (greedy filling is optimal for this)."""
    count, used = 0, None
    for word in words:
        if used is not None and used + 1 + len(word) <= width:
            used += 1 + len(word)
        else:
            count, used = count + 1, len(word)
    return count


@given(st.lists(WORDS, min_size=1, max_size=30), st.integers(min_value=1, max_value=60))
def test_wrap_breaks_only_at_spaces_into_the_fewest_short_lines(words, width):
    text = " ".join(words)
    lines = figures.wrap(text, width).split("<br>")
    assert " ".join(lines) == text  # nothing lost, nothing added, breaks only where a space was
    assert all(len(line) <= width or " " not in line for line in lines)  # a longer line is one long word
    assert len(lines) == fewest_lines(words, width)


def test_wrap_evens_out_the_lines():
    assert figures.wrap("aaaa bbbb cccc dd", 14) == "aaaa bbbb<br>cccc dd"  # not "aaaa bbbb cccc<br>dd"
    assert figures.wrap("short", 26) == "short"


def test_the_presenter_template_scales_every_text_and_both_keep_automatic_margins():
    normal, presenter = figures.template(False)["layout"], figures.template(True)["layout"]
    for path in (("font",), ("title", "font"), ("hoverlabel", "font"), ("legend", "font")):
        small, large = normal, presenter
        for key in path:
            small, large = small[key], large[key]
        assert large["size"] > small["size"], path
    for layout in (normal, presenter):
        assert layout["xaxis"]["automargin"] and layout["yaxis"]["automargin"] and layout["title"]["automargin"]


def test_the_templates_are_registered_by_name():
    figures.register_templates()
    assert pio.templates["sympe-presenter"].layout.font.size == figures.FONT_SIZE[True]
    assert pio.templates["sympe"].layout.font.size == figures.FONT_SIZE[False]


def test_every_builder_leaves_the_text_sizes_to_the_template_and_present_switches_it():
    for fig in every_builders_figure():
        layout = fig.spec["layout"]
        assert layout["template"] == figures.template(False)
        assert "font" not in layout and "font" not in layout.get("title", {}), fig
        for line in str(layout.get("title", {}).get("text", "")).split("<br>"):
            assert len(line) <= figures.TITLE_CHARS or " " not in line
        height = layout["height"]
        fig.present(True).present(True)
        assert layout["template"] == figures.template(True)
        assert layout["height"] == int(height * figures.PRESENTER_HEIGHT)
        fig.present(False)
        assert layout["template"] == figures.template(False) and layout["height"] == height


def test_figures_with_only_a_title_to_fit_get_its_margin_without_automargin():
    """plotly's automargin draws a figure twice when the margins move; a figure whose axes are hidden, with no
    legend and no colour bar, gets the top margin its title lines need instead, in either mode, never compounding."""
    title = "a title long enough to need two lines"
    titled = [figures.spins_figure(np.ones((4, 4)), title=title), figures.spins_figure(np.ones((4, 4)), title="one"),
              figures.spins_figure(np.ones((4, 4)), title=title, show_scale=True),
              figures.graph_figure(graphs.circular_positions(6), [(0, 1)], title=title)]
    fixed = 0
    for fig in every_builders_figure() + titled:
        layout = fig.spec["layout"]
        only_title = (figures._axes_hidden(layout) and not layout.get("showlegend")
                      and not figures._has_colour_bar(fig.spec["data"]) and layout.get("title", {}).get("text"))
        for presenter in (True, False):
            fig.present(presenter)
            title = layout["title"]
            if only_title:
                lines = title["text"].count("<br>") + 1
                assert title["automargin"] is False
                assert layout["margin"]["t"] >= lines * figures.TITLE_SIZE[presenter] * 1.3 + figures.TITLE_PAD
            else:
                assert "automargin" not in title  # the template's automargin applies
        if only_title:
            fixed += 1
            normal_top = layout["margin"]["t"]
            fig.present(True).present(False)
            assert layout["margin"]["t"] == normal_top
    assert fixed >= 3  # the titled spins and graph figures above, colour-bar one excluded

"""A generic layout check of whatever page the browser shows (it reads the page, not a list of known elements):

- every plotly text (titles, tick labels, axis titles, legend entries, colour-bar ticks, annotations) lies inside its
  figure's box, and no title or legend entry overlaps another text of the figure;
- no visible button label or sidebar navigation entry is truncated (an element inside is wider than its box);
- the first screen (the viewport as loaded, before any scrolling) shows at least one figure.

``story(page)`` reads the presenter's story row (``ui.story``: the container with class ``st-key-story``): how many
of its figures are drawn wholly inside the viewport, and how many it has (0, 0 without a story). It is a separate
call because it holds for the first screen only, not after a tour step scrolled to its section.

``problems(page)`` returns one line per fault, empty when the page passes; the tests assert it is empty, so the
message names every offending text at once. One pixel of slack absorbs sub-pixel rounding.
"""
from __future__ import annotations

from harness import CHART, CHART_SVG

SLACK_PX = 1

_PROBLEMS_JS = r"""
([slack, chart, chartSvg]) => {
  const out = [];
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && r.right > 0 && r.left < window.innerWidth && el.checkVisibility({visibilityProperty: true, opacityProperty: true});
  };
  const label = (el) => JSON.stringify((el.textContent || '').trim().slice(0, 60));
  const charts = [...document.querySelectorAll(chart)];
  charts.forEach((chart, i) => {
    const svg = chart.querySelector('.main-svg');
    if (!svg || !visible(svg)) return;
    const box = svg.getBoundingClientRect();
    const name = `figure ${i + 1} (${label(chart.querySelector('.gtitle') || svg).slice(0, 40)})`;
    const texts = [...chart.querySelectorAll('.main-svg text')].filter(
      (t) => t.textContent.trim() && visible(t) && !t.closest('.hoverlayer'));
    for (const t of texts) {
      const r = t.getBoundingClientRect();
      if (r.left < box.left - slack || r.right > box.right + slack || r.top < box.top - slack ||
          r.bottom > box.bottom + slack) {
        out.push(`${name}: text ${label(t)} leaves the figure ` +
                 `(text ${Math.round(r.left)}..${Math.round(r.right)} x ${Math.round(r.top)}..${Math.round(r.bottom)}, ` +
                 `figure ${Math.round(box.left)}..${Math.round(box.right)} x ${Math.round(box.top)}..${Math.round(box.bottom)})`);
      }
    }
    const group = (t) => t.closest('.legend, .gtitle, .g-xtitle, .g-ytitle, .g-x2title, .g-y2title, .cbtitle, ' +
                                   '.xtick, .ytick, .cbaxis, .annotation, .textpoint, .slicetext, .bartext') || t;
    const isTitle = (t) => t.closest('.legend, .gtitle, .g-xtitle, .g-ytitle, .g-x2title, .g-y2title, .cbtitle');
    for (const a of texts.filter(isTitle)) {
      const ra = a.getBoundingClientRect();
      for (const b of texts) {
        if (b === a || group(b) === group(a) || (isTitle(b) && texts.indexOf(b) < texts.indexOf(a))) continue;
        const rb = b.getBoundingClientRect();
        if (ra.left < rb.right - slack && rb.left < ra.right - slack && ra.top < rb.bottom - slack &&
            rb.top < ra.bottom - slack) {
          out.push(`${name}: ${label(a)} overlaps ${label(b)}`);
        }
      }
    }
  });
  const labelled = [...document.querySelectorAll('button, [data-testid="stSidebarNavLink"]')].filter(visible);
  for (const el of labelled) {
    const inner = [el, ...el.querySelectorAll('*')].filter((x) => x.clientWidth > 0 && visible(x));
    const cut = inner.find((x) => x.scrollWidth > x.clientWidth + slack && getComputedStyle(x).overflowX !== 'auto'
                                  && getComputedStyle(x).overflowX !== 'scroll');
    if (cut && el.textContent.trim()) out.push(`label ${label(el)} is truncated`);
  }
  const h = window.innerHeight, w = window.innerWidth;
  const figures = [...document.querySelectorAll(chartSvg + ', [data-testid="stImage"] img')]
    .filter(visible).filter((f) => {
      const r = f.getBoundingClientRect();
      return r.top < h - 0.25 * Math.min(r.height, h) && r.bottom > 0 && r.left < w && r.right > 0;
    });
  if (!figures.length) out.push('the first screen shows no figure');
  return out;
}
"""

_STORY_JS = r"""
([slack, chart]) => {
  const story = document.querySelector('.st-key-story');
  if (!story) return [0, 0];
  const h = window.innerHeight, w = window.innerWidth;
  const charts = [...story.querySelectorAll(chart)];
  const whole = charts.filter((chart) => {
    const r = chart.getBoundingClientRect();
    return chart.querySelector('.main-svg') && r.width > 0 && r.height > 0 && r.top >= -slack && r.left >= -slack &&
           r.bottom <= h + slack && r.right <= w + slack;
  });
  return [whole.length, charts.length];
}
"""


def problems(page) -> list[str]:
    """Every layout fault of the page as the browser shows it now (see the module docstring)."""
    return page.evaluate(_PROBLEMS_JS, [SLACK_PX, CHART, CHART_SVG])


def story(page) -> tuple[int, int]:
    """(figures of the story row drawn wholly inside the viewport, figures of the story row); (0, 0) without one."""
    whole, total = page.evaluate(_STORY_JS, [SLACK_PX, CHART])
    return whole, total

"""The server-rendered SVG charts: every shape inside the plot area, stacked bars that add up,
gaps (not zeros) where a value is missing, whole-number ticks on counts, a fixed scale kept,
a table with the same figures, and every label escaped in the rendered SVG."""

import itertools
import re

import pytest
from django.template.loader import render_to_string
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.charts import BOTTOM, HEIGHT, LEFT, PLOT_H, RIGHT, TOP, WIDTH, Chart, Series

PLOT_BOTTOM = HEIGHT - BOTTOM
PLOT_RIGHT = WIDTH - RIGHT
EPS = 0.05  # geometry is rounded to one decimal place

counts = st.lists(st.one_of(st.none(), st.integers(min_value=0, max_value=5000)), max_size=30)


def _labels(n):
    return [f"M{i}" for i in range(n)]


def _rects(geometry):
    return [rect for shape in geometry["shapes"] for rect in shape.get("rects", [])]


def _assert_inside(rect):
    assert rect["x"] >= LEFT - EPS
    assert rect["x"] + rect["w"] <= PLOT_RIGHT + EPS
    assert rect["y"] >= TOP - EPS
    assert rect["y"] + rect["h"] <= PLOT_BOTTOM + EPS


# --- bars ------------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    n_labels=st.integers(min_value=1, max_value=30),
    n_series=st.integers(min_value=1, max_value=5),
    kind=st.sampled_from(["bars", "stacked"]),
)
def test_bars_stay_inside_the_plot_area_and_missing_or_zero_values_draw_nothing(
    data, n_labels, n_series, kind
):
    values = st.one_of(st.none(), st.integers(min_value=0, max_value=400))
    series = [
        Series(f"S{n}", data.draw(st.lists(values, min_size=n_labels, max_size=n_labels)))
        for n in range(n_series)
    ]
    chart = Chart(title="T", labels=_labels(n_labels), series=series, kind=kind)
    geometry = chart.geometry()
    for shape, s in zip(geometry["shapes"], series, strict=True):
        drawn = shape["rects"]
        assert len(drawn) == sum(1 for v in s.values if v)  # no bar for None or 0
        for rect in drawn:
            _assert_inside(rect)
            assert rect["h"] >= 0.5  # a tiny value still shows
    # Each bar's hover title names its month, series and value.
    titles = {r["title"] for r in _rects(geometry)}
    expected = {f"M{i}: {s.label} {v:,.0f}" for s in series for i, v in enumerate(s.values) if v}
    assert titles == expected


def test_a_tiny_bar_beside_a_tall_one_stays_above_the_axis():
    chart = Chart(title="T", labels=["a", "b"], series=[Series("S", [1, 1000])])
    tiny = chart.geometry()["shapes"][0]["rects"][0]
    assert tiny["y"] + tiny["h"] <= PLOT_BOTTOM


def test_side_by_side_bars_do_not_overlap():
    series = [Series(f"S{n}", [3, 5, 7]) for n in range(4)]
    geometry = Chart(title="T", labels=_labels(3), series=series).geometry()
    for i in range(3):
        rects = sorted((shape["rects"][i] for shape in geometry["shapes"]), key=lambda r: r["x"])
        for left, right in itertools.pairwise(rects):
            assert left["x"] + left["w"] <= right["x"] + EPS


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    n_labels=st.integers(min_value=1, max_value=24),
    n_series=st.integers(min_value=1, max_value=5),
)
def test_stacked_bar_heights_add_up_to_the_total(data, n_labels, n_series):
    values = st.one_of(st.none(), st.integers(min_value=0, max_value=60))
    series = [
        Series(f"S{n}", data.draw(st.lists(values, min_size=n_labels, max_size=n_labels)))
        for n in range(n_series)
    ]
    chart = Chart(title="T", labels=_labels(n_labels), series=series, kind="stacked")
    geometry = chart.geometry()
    by_label = {}
    for shape in geometry["shapes"]:
        for rect in shape["rects"]:
            by_label.setdefault(rect["title"].split(":")[0], []).append(rect)
    for i in range(n_labels):
        total = sum(s.values[i] or 0 for s in series)
        rects = sorted(by_label.get(f"M{i}", []), key=lambda r: -r["y"])
        if not total:
            assert not rects
            continue
        # Each piece sits on the one below, all in one column, and the stack is as tall as
        # the total (pieces are rounded, and a piece is at least half a unit tall).
        assert len({r["x"] for r in rects}) == 1
        for lower, upper in itertools.pairwise(rects):
            assert upper["y"] + upper["h"] == pytest.approx(lower["y"], abs=0.55)
        height = sum(r["h"] for r in rects)
        assert height == pytest.approx(PLOT_H * total / chart.top, abs=0.1 * len(rects) + 0.5)
        assert rects[0]["y"] + rects[0]["h"] == pytest.approx(PLOT_BOTTOM, abs=EPS)
    # The scale is taken from the tallest stack, not the tallest piece.
    peak = max((sum(s.values[i] or 0 for s in series) for i in range(n_labels)), default=0)
    assert chart.top >= peak


def test_stacked_bars_exactly():
    chart = Chart(
        title="T",
        labels=["Jan", "Feb"],
        series=[Series("a", [10, None]), Series("b", [30, 0]), Series("c", [0, 40])],
        kind="stacked",
    )
    assert chart.top == 40
    a, b, c = (shape["rects"] for shape in chart.geometry()["shapes"])
    assert [(r["y"], r["h"]) for r in a] == [(TOP + PLOT_H * 3 / 4, PLOT_H / 4)]
    assert [(r["y"], r["h"]) for r in b] == [(TOP, PLOT_H * 3 / 4)]
    assert [(r["y"], r["h"]) for r in c] == [(TOP, PLOT_H)]
    assert a[0]["x"] == b[0]["x"] < c[0]["x"]


# --- lines -----------------------------------------------------------------------------------
def _runs(values):
    runs, current = [], []
    for value in values:
        if value is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append(value)
    if current:
        runs.append(current)
    return runs


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.one_of(st.none(), st.floats(min_value=0, max_value=5)), max_size=24))
def test_a_missing_value_breaks_the_line_into_separate_polylines(values):
    chart = Chart(
        title="T",
        labels=_labels(len(values)),
        series=[Series("avg", values)],
        kind="line",
        y_max=5,
        value_format="{:.1f}",
    )
    (shape,) = chart.geometry()["shapes"]
    assert "rects" not in shape
    runs = _runs(values)
    assert len(shape["lines"]) == len(runs)
    for line, run in zip(shape["lines"], runs, strict=True):
        assert len(line.split(" ")) == len(run)
    assert len(shape["dots"]) == sum(v is not None for v in values)
    for dot in shape["dots"]:
        assert LEFT <= dot["x"] <= PLOT_RIGHT
        assert TOP - EPS <= dot["y"] <= PLOT_BOTTOM + EPS


def test_line_points_exactly():
    chart = Chart(
        title="T",
        labels=["a", "b", "c", "d"],
        series=[Series("avg", [5, None, 2.5, 0])],
        kind="line",
        y_max=5,
        value_format="{:.1f}",
    )
    (shape,) = chart.geometry()["shapes"]
    band = (WIDTH - LEFT - RIGHT) / 4
    xs = [round(LEFT + band * (i + 0.5), 1) for i in range(4)]
    assert shape["lines"] == [
        f"{xs[0]},{float(TOP)}",
        f"{xs[2]},{TOP + PLOT_H / 2} {xs[3]},{float(PLOT_BOTTOM)}",
    ]


# --- the scale -------------------------------------------------------------------------------
@settings(max_examples=100, deadline=None)
@given(peak=st.integers(min_value=0, max_value=100_000), kind=st.sampled_from(["bars", "line"]))
def test_count_charts_have_whole_number_ticks_from_zero_to_above_the_peak(peak, kind):
    chart = Chart(title="T", labels=["a", "b"], series=[Series("n", [peak, 0])], kind=kind)
    ticks = chart.geometry()["ticks"]
    values = [int(t["label"].replace(",", "")) for t in ticks]
    assert values[0] == 0
    assert chart.top >= peak
    assert float(chart.step).is_integer() and chart.step >= 1
    assert values == [round(chart.step * i) for i in range(len(ticks))]
    assert 2 <= len(ticks) <= 6
    # Ticks run from the axis (bottom) to the top of the plot, evenly.
    assert ticks[0]["y"] == PLOT_BOTTOM
    assert ticks[-1]["y"] == TOP


@pytest.mark.parametrize(
    ("peak", "top", "ticks"),
    [
        (0, 1, ["0", "1"]),
        (1, 1, ["0", "1"]),
        (3, 3, ["0", "1", "2", "3"]),
        (7, 8, ["0", "2", "4", "6", "8"]),
        (9, 10, ["0", "5", "10"]),
        (90, 100, ["0", "25", "50", "75", "100"]),
        (1234, 1500, ["0", "500", "1,000", "1,500"]),
    ],
)
def test_count_scale_examples(peak, top, ticks):
    chart = Chart(title="T", labels=["a"], series=[Series("n", [peak])])
    assert chart.top == top
    assert [t["label"] for t in chart.geometry()["ticks"]] == ticks


@pytest.mark.parametrize(("y_max", "ticks"), [(5, 6), (100, 6), (10, 6), (1, 2), (50, 6)])
def test_a_fixed_scale_is_kept_whatever_the_values(y_max, ticks):
    chart = Chart(
        title="T",
        labels=["a", "b", "c"],
        series=[Series("v", [y_max * 3, y_max / 2, None])],
        kind="line",
        y_max=y_max,
        value_format="{:.1f}",
    )
    geometry = chart.geometry()
    assert chart.top == y_max
    assert len(geometry["ticks"]) == ticks
    assert float(geometry["ticks"][-1]["label"]) == y_max
    # A value above the fixed maximum is drawn at the top, not above the plot.
    first, second = geometry["shapes"][0]["dots"]
    assert first["y"] == TOP
    assert second["y"] == TOP + PLOT_H / 2


def test_no_more_than_eight_month_labels_are_written_under_the_axis():
    labels = [f"M{i}" for i in range(24)]
    x_labels = Chart(title="T", labels=labels, series=[Series("n", [1] * 24)]).geometry()[
        "x_labels"
    ]
    assert [x["label"] for x in x_labels] == labels[::3]
    twelve = Chart(title="T", labels=labels[:12], series=[Series("n", [1] * 12)]).geometry()
    assert [x["label"] for x in twelve["x_labels"]] == labels[:12:2]


# --- the table equivalent --------------------------------------------------------------------
def test_the_table_has_one_row_per_label_with_formatted_values():
    chart = Chart(
        title="T",
        labels=["Jan 2026", "Feb 2026", "Mar 2026"],
        series=[Series("Reviews", [1200, 0, None]), Series("Other", [3, 4, 5])],
    )
    assert chart.table() == {
        "columns": ["Reviews", "Other"],
        "rows": [
            {"label": "Jan 2026", "cells": ["1,200", "3"]},
            {"label": "Feb 2026", "cells": ["0", "4"]},
            {"label": "Mar 2026", "cells": ["–", "5"]},
        ],
    }
    line = Chart(
        title="T",
        labels=["a", "b"],
        series=[Series("Average", [4.25, None])],
        kind="line",
        value_format="{:.1f}",
    )
    assert line.table()["rows"] == [
        {"label": "a", "cells": ["4.2"]},
        {"label": "b", "cells": ["–"]},
    ]


def _cells(html):
    return re.findall(r"<td>(.*?)</td>", html)


def test_the_rendered_chart_has_an_svg_picture_a_legend_and_the_table():
    chart = Chart(
        slug="chart-x",
        title="Complaints each month",
        summary="3 complaints.",
        labels=["Jan 2026", "Feb 2026"],
        series=[Series("Opened", [2, 1], "s1"), Series("Closed", [0, 1], "s3")],
    )
    html = render_to_string("charts/chart.html", {"chart": chart})
    assert html.count("<svg") == 3  # the chart and two legend swatches
    assert 'role="img"' in html
    assert 'aria-labelledby="chart-x-title chart-x-summary"' in html
    assert '<h3 class="chart__title" id="chart-x-title">Complaints each month</h3>' in html
    assert html.count("<rect x=") == 3  # 2, 1 and 1: no bar for the zero
    assert "<polyline" not in html
    assert 'class="chart__legend"' in html
    assert re.findall(r'<th scope="row">(.*?)</th>', html) == ["Jan 2026", "Feb 2026"]
    assert _cells(html) == ["2", "0", "1", "1"]


def test_a_line_chart_renders_one_polyline_per_run_and_one_dot_per_value():
    chart = Chart(
        title="Average",
        labels=_labels(5),
        series=[Series("Average stars", [4.0, None, 3.5, 3.0, None])],
        kind="line",
        y_max=5,
        value_format="{:.1f}",
    )
    html = render_to_string("charts/chart.html", {"chart": chart})
    assert html.count("<polyline") == 2
    assert html.count("<circle") == 3
    assert "<rect x=" not in html
    assert 'class="chart__legend"' not in html  # one series needs no legend
    assert _cells(html) == ["4.0", "–", "3.5", "3.0", "–"]


@pytest.mark.parametrize(
    "values", [[], [None, None], [0, 0, None]], ids=["no-months", "all-missing", "all-zero"]
)
def test_an_empty_chart_says_there_is_nothing_to_show_and_draws_no_picture(values):
    chart = Chart(title="Reviews", labels=_labels(len(values)), series=[Series("n", values)])
    html = render_to_string("charts/chart.html", {"chart": chart})
    assert "Nothing to show for this period yet." in html
    assert "<svg" not in html
    # The table is still there, with a row per month.
    assert len(re.findall(r'<th scope="row">', html)) == len(values)


def test_a_chart_with_data_does_not_say_it_is_empty():
    chart = Chart(title="Reviews", labels=["a"], series=[Series("n", [1])])
    assert "Nothing to show" not in render_to_string("charts/chart.html", {"chart": chart})


def test_every_label_is_escaped_in_the_rendered_chart():
    evil = '<script>alert("x")</script> & <b>'
    chart = Chart(
        slug="chart-evil",
        title=f"Title {evil}",
        summary=f"Summary {evil}",
        labels=[f"Label {evil}", "plain"],
        series=[Series(f"Series {evil}", [1, 2]), Series(f"Other {evil}", [3, None])],
        y_label=f"unit {evil}",
    )
    html = render_to_string("charts/chart.html", {"chart": chart})
    assert "<script>" not in html
    assert "<b>" not in html
    escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;"
    for text in ("Title", "Summary", "Label", "Series", "Other", "unit"):
        assert f"{text} {escaped}" in html
    # the bars' hover titles, the x labels and the table rows carry the label too
    assert html.count(f"Label {escaped}") >= 3

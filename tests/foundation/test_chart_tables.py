"""Charts' text equivalents: plotly traces turned into a table."""
import base64
import struct

from moments_admin.chart_tables import figure_columns, figure_table


def test_vertical_traces_become_one_row_per_x_and_one_column_per_series():
    traces = [{"name": "anthropic", "x": ["2026-12-01", "2026-12-02"], "y": [1.5, 0.25]},
              {"name": "bedrock", "x": ["2026-12-02", "2026-12-03"], "y": [2, 3]}]
    names, rows = figure_columns(traces)
    assert names == ["anthropic", "bedrock"]
    assert rows == [("2026-12-01", [1.5, None]), ("2026-12-02", [0.25, 2]), ("2026-12-03", [None, 3])]
    html = figure_table(traces, "Cost by provider")
    assert "<summary>Cost by provider as a table</summary>" in html
    assert '<th scope="row">2026-12-02 00:00</th><td class="num">0.25</td><td class="num">2</td>' in html
    assert '<td class="num">—</td>' in html  # a bucket without a value


def test_horizontal_bars_read_their_categories_from_y_and_packed_numbers_decode():
    packed = {"dtype": "f8", "bdata": base64.b64encode(struct.pack("<2d", 0.5, 12.0)).decode()}
    names, rows = figure_columns([{"orientation": "h", "x": packed, "y": ["Input", "Output"]}])
    assert names == ["Value"]
    assert rows == [("Input", [0.5]), ("Output", [12.0])]


def test_no_data_means_no_table_and_names_are_escaped():
    assert figure_table([], "Empty") == ""
    assert "&lt;b&gt;" in figure_table([{"name": "<b>", "x": [1], "y": [2]}], "Escaped")

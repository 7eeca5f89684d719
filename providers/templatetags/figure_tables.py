from django import template

from moments_admin.chart_tables import figure_table as _figure_table

register = template.Library()


@register.filter
def figure_table(figure, caption):
    """{{ figure|figure_table:"Caption" }}: the plotly figure's data as a table, the chart's text equivalent."""
    return _figure_table((figure or {}).get("data"), caption)

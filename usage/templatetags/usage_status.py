"""The usage pipeline's health as a piece of the Status page (rendered here so providers never imports usage)."""
from django import template

from usage.status import usage_pipeline_status as pipeline_status

register = template.Library()


@register.inclusion_tag("usage/_pipeline_status.html")
def usage_pipeline_status():
    return {"usage": pipeline_status()}

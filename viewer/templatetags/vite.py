"""``{% vite_entry "src/viewer/main.ts" %}``: the style sheets and module script of a front-end entry."""

from __future__ import annotations

from django import template
from django.templatetags.static import static
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from viewer.assets import entry_assets

register = template.Library()


@register.simple_tag
def vite_entry(entry: str) -> SafeString:
    assets = entry_assets(entry)
    styles = format_html_join("", '<link rel="stylesheet" href="{}">', ((static(css),) for css in assets.styles))
    return format_html('{}<script type="module" src="{}"></script>', styles, static(assets.script))

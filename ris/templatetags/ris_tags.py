from django import template

from ris import idcard
from ris.navigation import NavLink, nav_links

register = template.Library()


@register.filter
def masked_id_card(number: str) -> str:
    """An ID card number as lists show it (see ris.idcard.mask)."""
    return idcard.mask(number or "")


@register.simple_tag
def ris_extra_nav() -> list[NavLink]:
    """The navigation links other apps registered (see ris.navigation)."""
    return nav_links()

from django import template

from ris import idcard

register = template.Library()


@register.filter
def masked_id_card(number: str) -> str:
    """An ID card number as lists show it (see ris.idcard.mask)."""
    return idcard.mask(number or "")

"""Writes of the reporting app: editing (``reports``) and sign-off (``signoff``)."""

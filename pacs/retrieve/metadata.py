"""Placeholder: being written."""


def series_metadata_cache_build(*, series_id: int) -> None:
    return None

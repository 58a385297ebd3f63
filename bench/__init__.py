"""The archive benchmark: the same data and the same client against Orthanc and against this archive.

Run it with ``python -m bench`` (``--quick`` for a smoke run); see ``bench/README.md``.
"""

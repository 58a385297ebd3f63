"""RIS writes: each service is ``<entity>_<action>``, keyword-only and typed, and runs in one transaction.

Signals are sent on commit (``transaction.on_commit``), so listeners never see a change that rolled back.
"""

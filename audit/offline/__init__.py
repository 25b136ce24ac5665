"""The auditor's package: the offline verifier and everything it runs.

Import contract (pyproject.toml, import-linter): the standard library and ``cryptography``,
nothing else — no eventsourcing, database driver, web framework, and nothing of domain/,
projections/, api/ or the other audit sub-packages.
"""

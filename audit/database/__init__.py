"""The database layer shared by projections/, api/ and audit.log (never audit.offline).

SQLite or PostgreSQL chosen by ``PPL_DATABASE_URL``: pools and dialects (``connections``),
deadlines on every call (``deadlines``), files only their owner reads (``private_files``).
"""

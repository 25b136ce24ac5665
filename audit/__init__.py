"""Trust without the server: what is signed and how it is checked, in four sub-packages.

* ``audit.offline`` — everything ``ppl audit verify`` and ``ppl audit check-evidence`` run, and
  the rules the domain shares with them (product keys, screening, annex, dispute). Standard
  library and ``cryptography`` only (one import-linter contract): an auditor can copy this
  folder and verify a bundle without the server, its database or its dependencies.
* ``audit.signing`` — the server's side of signing: private keys (created 0600, rotated), the
  eventsourcing mapper and transcoder that sign every save.
* ``audit.log`` — the transparency log's server side: storage, sequencer, checkpoints,
  proofs served, bundle export.
* ``audit.database`` — the database layer **shared** by projections/, api/ and audit.log:
  connection pools, dialects, the schema lock, deadlines on calls, private files. It lives here
  because audit is the lowest package all three import; audit.offline never imports it.
"""

"""The server's signing: private keys, and the eventsourcing adapters that sign every save."""

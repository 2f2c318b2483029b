"""Privacy: PII scanning, nearest-neighbour distances, privacy metrics and attacks."""

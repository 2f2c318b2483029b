"""Release: policies, the release gate, reports and the atomic release bundle."""

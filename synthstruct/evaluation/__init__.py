"""Evaluation: the metric contract, validity, fidelity and utility metrics."""

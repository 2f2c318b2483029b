"""Synthesizers: the engine contract, SDV adapters, our fast copula, PII generators and the
:class:`TableSynthesizer` that routes each column to the right generator."""

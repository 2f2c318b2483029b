"""Free-text generation for ``text`` columns (placeholder until an LLM backend is configured)."""

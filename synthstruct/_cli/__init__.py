"""One module per CLI verb; shared helpers in ``_common``."""

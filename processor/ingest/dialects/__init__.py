"""One module per attribute dialect: each offers ``claims(span) -> bool`` and ``read(span) -> Reading``."""

"""Local fakes that speak real wire formats (no network, no API key)."""

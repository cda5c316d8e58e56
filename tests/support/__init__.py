"""Shared test helpers: real local servers (rotel, Phoenix) and their clients."""

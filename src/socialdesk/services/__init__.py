"""Use cases. They import the domain and `services.ports` only; adapters are handed in."""

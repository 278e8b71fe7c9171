"""The trademesh services, one package each."""

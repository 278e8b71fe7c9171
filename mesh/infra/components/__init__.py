"""One module per infrastructure process."""

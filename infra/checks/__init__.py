"""Black-box checks of a running stack: smoke, chaos and fuzz (`make smoke`, `make chaos`, `make fuzz`)."""

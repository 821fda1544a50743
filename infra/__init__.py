"""Cloud templates and the local stand-in for AWS (dev-only; never imported by chalicelib)."""

"""Everything deployed to Lambda: the in-app message service's domain code."""

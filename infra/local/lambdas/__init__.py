"""Lambda, locally: the Invoke endpoint, the stream function's runtime process,
and the event source mappings (stream and queue pollers)."""

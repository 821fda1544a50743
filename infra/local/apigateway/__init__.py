"""API Gateway, locally: the HTTP API on loopback and the WebSocket API with its management endpoint."""

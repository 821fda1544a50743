"""The local stack: moto's DynamoDB, the Chalice app, a WebSocket gateway, a stream poller."""

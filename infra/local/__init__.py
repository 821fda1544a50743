"""The local stack: moto's DynamoDB, the Chalice app, a WebSocket gateway, a stream poller."""

# Signs the local stack's tokens unless INAPP_JWT_SECRET is set; the stack and the CLI share it.
DEV_SECRET = "local-dev-secret-not-for-production-0123456789"

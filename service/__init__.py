"""The Litestar service: webhooks, the call loop, responders, storage and the management API."""

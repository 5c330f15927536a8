"""The HTTP edge: request parsing, problem details, idempotency, public documents."""

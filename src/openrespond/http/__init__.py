"""What every route shares: authentication, errors, pagination, rate limits, idempotency."""

"""The fake's route handlers, one module per API area."""

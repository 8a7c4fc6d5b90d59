"""The domain: cases, routing decisions, intake, outbox, storage."""

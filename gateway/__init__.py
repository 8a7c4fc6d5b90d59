"""The edges: CLI, configuration, outbound transports, SMTP/IMAP listeners."""

"""Outbound: our mail, from composed to sent.

Place in the flow: ``compose`` renders and builds each kind of mail and queues it in the
``outbox`` in the caller's transaction; after commit the outbox hands it to a transport (the
edges'), retried on the ``backoff`` schedule and reported by ``health``; ``headers`` writes
every header we send, ``htmltext`` the HTML of a text; ``files`` are the attachments an analyst
sends.
"""

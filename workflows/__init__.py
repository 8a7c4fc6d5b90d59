"""The domain, a folder per stage of the flow.

``inbound`` (intake to an applied decision), ``cases`` (the records and the services every edge
shares), ``outbound`` (our mail, composed, queued, sent, retried), ``notices`` (maintenance,
incident and advisory notices), ``clock`` (everything owed at a moment: one pass over a registry
of jobs), ``search`` (full-text search over cases) and ``storage`` (tables, engine, migrations,
blobs). Beside them: ``domain`` (enums), ``settings``, ``runtime``, ``secret``, ``errors`` and
``tasks`` (the Celery entry point). The domain never imports the edges (``gateway``);
``parsing`` is below it.
"""

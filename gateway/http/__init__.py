"""The console and the HTTP API: the browser's and scripts' way to triage, work cases and send
notices.

Place in the flow: an edge beside SMTP, IMAP and the CLI. It calls the same domain services the
CLI calls (``workflows.inbound.triage``, ``workflows.cases.service``, ``workflows.cases.views``,
``workflows.inbound.process``), one transaction per action, and sends queued mail after the commit.
``app.create_app(rt)`` builds the ASGI application; ``server.start_http_server(rt, host, port)``
runs it on a thread for ``ticketgate serve``. Nothing here is imported by the domain.
"""

"""The clock: everything owed at a moment.

Place in the flow: beside the message flow. ``jobs`` is the registry (case follow-ups, SLA,
escalations, the purge, incident follow-ups, RCA reminders, case reports, retries of notices and
of case mail); ``scheduler.run_pass`` runs it for ``serve``, Celery beat and ``ticketgate timers
run``. Case timers are rows (``store``) armed on each organization's business ``calendar`` and
fired by ``firing``. Kept import-free so ``workflows.settings`` can import ``targets`` without a
cycle.
"""

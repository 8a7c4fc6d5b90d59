"""Timers on the case lifecycle: auto follow-up, SLA clocks, unanswered escalation, purge.

Place in the flow: beside the message flow, on the clock. The case services leave timer rows in
the ``due_timers`` table when a clock starts (``store``); the clock's case-timer jobs
(``workflows.jobs``: follow-ups, sla, escalations; ``firing``), run in every pass of
``workflows.scheduler.run_pass``, arm them (compute when they fall due on the organization's
business calendar) and fire the due ones; the ``purge`` job runs ``purge``. Kept import-free so
``workflows.settings`` can import ``targets`` without a cycle.
"""

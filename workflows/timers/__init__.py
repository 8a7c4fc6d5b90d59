"""Timers on the case lifecycle: auto follow-up, SLA clocks, unanswered escalation, purge.

Place in the flow: beside the message flow, on the clock. The case services leave timer rows in
the ``due_timers`` table when a clock starts (``store``); ``workflows.scheduler.run_pass`` arms
them (computes when they fall due on the organization's business calendar) and fires the due
ones. Kept import-free so ``workflows.settings`` can import ``targets`` without a cycle.
"""

"""Outbound notices: planned and emergency maintenance, incident alerts, advisories, case reports.

Place in the flow: beside the inbound flow, driven by operators (``ticketgate notice ...``) and by
the clock (the notice jobs of ``workflows.clock.jobs``, over the stages of
``workflows.notices.scheduler``, run in every pass of ``workflows.clock.scheduler.run_pass``).
Inbound mail touches it twice: a mail quoting a notice reference lands in triage with the notice
attached (``inquiries``), and a bounce of one of its deliveries marks that recipient bounced
(``bounces``).

One notice goes out as *mailings* (the alert, each follow-up slot, the all-clear, a reschedule,
a cancellation), each rendered once per organization (``render``, ``ics``, ``mime``) into a
*part*, and fanned out as one *delivery* row per recipient with its own pre-generated Message-ID
(``mailings``, ``delivery``). Rules decide whether a notice may go at all (``rules``,
``blackout``). Kept import-free so ``workflows.inbound.snapshot`` can import one module of it
cheaply.
"""

"""Cases: the domain's records and the services every edge shares.

Place in the flow: what ``inbound.apply`` and the CLI, API and console change: cases and their
``state`` machine (``service``, ``fields``, ``mail``), owners (``assignment``), internal
``notes``, ``saved_replies``, organizations and contacts (``directory``, ``organizations``,
``contacts``), blocked senders, and the read models (``views``).
"""

"""The fleet (issue 15): backproof's jobs on Celery workers, sharing one state database.

``app.py`` builds the Celery application from ``[queue]``; ``steps.py`` runs one job of a
submission the way the CLI would and records it; ``worker.py`` is ``backproof worker`` (the task,
heartbeats, graceful stop); ``submit.py`` is ``backproof submit`` and the scheduler's way in;
``slots.py`` bounds the verifies running at once on one verify server.
"""

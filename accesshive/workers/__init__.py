"""Scale-out: apply's orders run on ``accesshive worker`` processes, on any number of
machines sharing the PostgreSQL store, through procrastinate's job queue in it.

- ``engine.py``: the queue (procrastinate app, queue and lock names, job arguments).
- ``dispatch.py``: ``apply --workers``: the executor's walk, its jobs queued for workers.
- ``worker.py``: ``accesshive worker``: runs a job with the executor's own code.
"""

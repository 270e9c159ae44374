"""Scale-out over PostgreSQL: ``lsq worker`` processes on any number of machines, with
procrastinate (a maintained PostgreSQL task queue) carrying the work between them.

Owns: the procrastinate app, its tasks and the sweeper (:mod:`.tasks`), what one worker
process serves (:mod:`.node`: draining inboxes, polling, subscribing, sweeping), the job
queue's schema (:mod:`.schema`) and the worker process (:mod:`.worker`). May import the engine
and the layers below it; it is the one package besides the store that reaches the database,
and only through procrastinate (its job tables and functions); every row of ours goes
through the store. Receivers are :mod:`runtime.web.wsgi`'s app (``lsq receive``).

The inbox row is the truth: receivers only commit deliveries to the inbox (one transaction,
then 200); a sweeper, run once per second by the one worker holding its lease, defers drain
jobs for every instance with pending rows and poll jobs for every poll that is due (a lease per
instance and interval makes a poll due once, whatever the number of workers). A job that is
lost (its worker killed) loses nothing: the rows it did not settle are handed out again and the
run history keeps each event from running twice.
"""

"""Training: the loop (``loop``: step, epoch, validation, ``fit``), its state and checkpoint
round trip (``state``), the run directory's files (``run_files``), KL annealing and the
plateau lr schedule (``schedule``); one process or several (DistributedDataParallel)."""

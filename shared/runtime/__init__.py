"""A service's spec and the processes that run it: web, worker and the supervisor of `make run`."""

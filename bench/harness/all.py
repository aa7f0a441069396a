"""Imports every benchmark module so that its @benchmark registrations run. One line per
benchmark module; the import order is the run order."""
from harness import throughput  # noqa: F401

"""Imports every benchmark module so that its @benchmark registrations run. One line per
benchmark module; the import order is the run order."""
from harness import throughput  # noqa: F401
from harness import immap_scaling  # noqa: F401
from harness import probe_costs  # noqa: F401
from harness import uprobe_scaling  # noqa: F401
from harness import quantum_sweep  # noqa: F401
from harness import rss_per_process  # noqa: F401
from harness import python_handlers  # noqa: F401
from harness import host_programs  # noqa: F401
from harness import races  # noqa: F401
from harness import mm_scaling  # noqa: F401
from harness import paging  # noqa: F401
from harness import kernel_work  # noqa: F401

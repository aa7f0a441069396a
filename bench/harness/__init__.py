"""probesim benchmark harness (driven by bench/run.py; see bench/README.md).

Modules: context (paths and options), measure (timing, output parsing, instruction
calibration), runners (the table of peers), registry (the table of benchmarks), table
(text output), plots (matplotlib figures) and one module per benchmark (throughput).
"""

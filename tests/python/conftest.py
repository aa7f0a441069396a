# pytest suite of the probesim Python package (run: .venv/bin/python -m pytest -q tests/python).
# Guest programs come from $PROBESIM_GUEST_DIR (default <repo>/build/guest); see probesim.testing.
pytest_plugins = ["probesim.testing", "pytester"]

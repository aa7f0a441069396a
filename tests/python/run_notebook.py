"""Execute a notebook headless, as a test: run_notebook.py NOTEBOOK OUT_DIR.

Runs every cell with nbclient in the Jupyter kernel the notebook names (probesim-venv,
registered by scripts/venv.sh), from the notebook's own directory, with
PROBESIM_FIGURES_DIR=OUT_DIR/figures so figures land in the build tree. Writes the executed
notebook (outputs included) to OUT_DIR/<name>.ipynb. A cell that raises fails the run: exit 1
with the failing cell's error.
"""
import os
import sys
import time
from pathlib import Path

import nbclient
import nbformat

CELL_TIMEOUT = 300  # seconds; the notebooks are meant to run in seconds


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    notebook, out_dir = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    os.environ["PROBESIM_FIGURES_DIR"] = str(out_dir / "figures")
    nb = nbformat.read(notebook, as_version=4)
    kernel = nb.metadata.get("kernelspec", {}).get("name", "probesim-venv")
    client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name=kernel,
                                     resources={"metadata": {"path": str(notebook.parent)}})
    start = time.monotonic()
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as e:
        print(f"{notebook.name}: a cell failed\n{e}", file=sys.stderr)
        return 1
    finally:
        nbformat.write(nb, out_dir / notebook.name)
    print(f"{notebook.name}: {len(nb.cells)} cells ran in {time.monotonic() - start:.1f} s; "
          f"executed copy in {out_dir / notebook.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The example notebook runs top to bottom in a real Jupyter kernel, so it never rots."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK = Path(__file__).parent.parent / "examples" / "visitors.ipynb"


# jupyter_client/jupyter_core warn about their own config paths and datetime use; none of
# that is ours, and a kernel's warnings would otherwise fail the test under "error".
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_example_notebook_runs_and_shows_tables() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=60, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()  # raises CellExecutionError, with the cell, on any error
    outputs = [output for cell in notebook.cells if cell.cell_type == "code"
               for output in cell.get("outputs", [])]
    html = [output["data"]["text/html"] for output in outputs
            if "text/html" in output.get("data", {})]
    assert any("8 visitor(s), account 696ce9e780e0483585e4e553" in table for table in html)
    assert any('class="connectsafely-visitors"' in table and "30 visitor(s)" in table
               for table in html)
    assert not [output for output in outputs if output.get("output_type") == "error"]
    assert not [output for output in outputs if output.get("name") == "stderr"]

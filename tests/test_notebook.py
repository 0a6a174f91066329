"""The example notebook runs top to bottom in a real Jupyter kernel, so it never rots."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
# The notebook extra's chart. Importing the font manager here builds matplotlib's font cache
# (once per machine) in this process, so the kernel never says so on its stderr.
pytest.importorskip("matplotlib.font_manager")

NOTEBOOK = Path(__file__).parent.parent / "examples" / "visitors.ipynb"


# jupyter_client/jupyter_core warn about their own config paths and datetime use; none of
# that is ours, and a kernel's warnings would otherwise fail the test under "error".
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_example_notebook_runs_and_shows_tables_and_a_chart() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()  # raises CellExecutionError, with the cell, on any error
    outputs = [output for cell in notebook.cells if cell.cell_type == "code"
               for output in cell.get("outputs", [])]
    html = [output["data"]["text/html"] for output in outputs
            if "text/html" in output.get("data", {})]
    assert any("8 visitor(s), account 696ce9e780e0483585e4e553" in table for table in html)
    assert any('class="connectsafely-visitors"' in table and "30 visitor(s)" in table
               for table in html)
    # Offline, every avatar shows initials; the picture lies over them only if it loads.
    assert any('aria-hidden="true">CS<img' in table for table in html)
    # Five weeks of syncs: returning visitors are events, the chart of views per week is an
    # image, and the repeat visitors are a data frame of two visits or more.
    printed = "".join(output.get("text", "") for output in outputs
                      if output.get("name") == "stdout")
    assert "159 visitors already in the list" in printed
    assert printed.count(" is back (visit ") >= 10
    assert any("image/png" in output.get("data", {}) for output in outputs)
    (repeat,) = [table for table in html if "<th>visits</th>" in table]
    assert "Chlo\u00e9 Smith" in repeat
    assert '<td>1</td>' not in repeat
    assert not [output for output in outputs if output.get("output_type") == "error"]
    assert not [output for output in outputs if output.get("name") == "stderr"]

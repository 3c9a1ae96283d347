"""Write the sample staff files next to this script (run after changing the samples).

    .venv/bin/python docs/samples/make_samples.py

The rows come from ``elearn.accounts.imports.SAMPLE_PEOPLE`` with the demo org tree's unit
codes, so the files import cleanly into ``make run``'s demo as ``nhansu`` or ``quantri``.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parents[1]))

from elearn.accounts.imports import sample_csv, sample_xlsx  # noqa: E402

(HERE / "nhan-su-mau.csv").write_bytes(sample_csv())
(HERE / "nhan-su-mau.xlsx").write_bytes(sample_xlsx())
print("wrote", HERE / "nhan-su-mau.csv", "and", HERE / "nhan-su-mau.xlsx")

"""The benchmark of issue 7: scale data, the app served as in production, and a report.

Run it with ``make bench`` (full scale) or ``make bench SCALE=0.01`` (a quick run); see ``__main__.py``.
"""

from __future__ import annotations

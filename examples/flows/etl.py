"""An example flow: Ferry imports this file and calls `etl` with the run's parameters."""

import logging
import platform


def etl(day: str = "2026-11-01", rows: int = 3) -> dict:
    log = logging.getLogger("etl")
    log.info("extracting %s rows for %s on Python %s", rows, day, platform.python_version())
    total = sum(range(rows))
    log.info("loaded %s", total)
    return {"day": day, "rows": rows, "total": total}

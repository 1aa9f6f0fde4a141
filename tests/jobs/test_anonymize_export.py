"""anonymize and export: no caller identity survives anonymization; exports hold no direct identifiers."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
from sqlalchemy import select, text

from compliance.models import AuditEvent, DataKey
from service.runtime import Runtime
from tests.jobs.conftest import call_row, run, seed

README = Path(__file__).resolve().parents[2] / "README.md"


def test_anonymize_is_irreversible_and_idempotent(runtime: Runtime) -> None:
    seeded = seed(runtime, calls=2, number="+15550104477")
    before = call_row(runtime, seeded.call_ids[0])
    assert before is not None and before.caller_number_key_id
    result, _ = run(runtime, "anonymize", days_ahead=31)
    assert (result.examined, result.changed) == (2, 2)
    after = call_row(runtime, seeded.call_ids[0])
    assert after is not None
    assert after.anonymized_at is not None
    assert (after.caller_number_sealed, after.caller_city, after.caller_state, after.caller_zip) == (None,) * 4
    assert after.caller_country == "US"
    assert after.caller_lookup == before.caller_lookup
    with runtime.readers() as session:
        key = session.get(DataKey, before.caller_number_key_id)
        assert key is not None and key.wrapped_key is None
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "call.anonymize")).all()
        assert sorted(str(e.call_id) for e in events) == sorted(seeded.call_ids)
        assert all(e.actor == "job:anonymize" for e in events)
    with runtime.engine.connect() as connection:
        assert "5550104477" not in repr(connection.execute(text("SELECT * FROM calls")).all())
    again, _ = run(runtime, "anonymize", days_ahead=31)
    assert again.changed == 0


def test_export_partitions_rollup_and_duckdb_query(runtime: Runtime, tmp_path: Path) -> None:
    seeded = seed(runtime, calls=6, chunks_per_call=2)
    result, _ = run(runtime, "export", days_ahead=1)
    assert result.changed == 12
    root = Path(runtime.settings.export_url)
    day_dirs = sorted(p.name for p in (root / "chunks").iterdir())
    assert len(day_dirs) == 1 and day_dirs[0].startswith("dt=")
    table = pq.read_table(root / "chunks" / day_dirs[0] / "part-0.parquet")
    assert table.num_rows == 12
    assert "call_id" not in table.column_names
    raw = b"".join(p.read_bytes() for p in root.rglob("*.parquet"))
    for call_id in seeded.call_ids:
        assert call_id.encode() not in raw
    assert b"5550100001" not in raw
    daily = pq.read_table(root / "daily" / day_dirs[0] / "part-0.parquet").to_pylist()[0]
    assert (daily["calls"], daily["chunks"], daily["suppressed"]) == (6, 12, False)
    # The README's example, run as an analyst would.
    query = re.search(r"```sql\n(.*?)```", README.read_text(), re.S)
    assert query is not None
    sql = query.group(1).replace("./var/export", str(root))
    relation = duckdb.sql(sql)
    assert relation is not None
    rows = relation.fetchall()
    assert rows and rows[0][1] == 12
    # Re-exporting the day replaces it exactly.
    run(runtime, "export", days_ahead=1)
    assert pq.read_table(root / "chunks" / day_dirs[0] / "part-0.parquet").num_rows == 12
    assert len(list((root / "chunks" / day_dirs[0]).iterdir())) == 1


def test_small_cells_are_suppressed(runtime: Runtime) -> None:
    seed(runtime, calls=2)
    run(runtime, "export", days_ahead=1)
    root = Path(runtime.settings.export_url)
    daily = pq.read_table(next((root / "daily").rglob("*.parquet"))).to_pylist()[0]
    assert daily["suppressed"] is True
    assert daily["calls"] is None and daily["chunks"] is None

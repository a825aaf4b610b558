"""Audit-log export: the job kind that writes an account's (or, for back-office auditors, every) audit log
to CSV or XLSX."""

import csv
import io
import tempfile
from datetime import datetime

from django.db.models import Q
from django.utils import timezone
from openpyxl import Workbook

from metastudio.errors import InvalidParameter
from metastudio.jobs import JobKind, JobRun, register_kind
from tenancy.models import AuditLog

AUDIT_EXPORT = register_kind(JobKind(
    name="audit_export", label="Audit log export", handler="tenancy.exports.export_audit_log", iam_resource="export",
))
FORMATS = ("CSV", "XLSX")
COLUMNS = ["time", "account", "actor", "action", "target_type", "target_id", "source_ip", "via", "request_id",
           "user_agent", "detail"]
CHUNK = 500


def export_params(data: dict) -> dict:
    """Validate what the user asked for and return the job's params."""
    fmt = str(data.get("format", "CSV")).upper()
    if fmt not in FORMATS:
        raise InvalidParameter(f"must be one of {', '.join(FORMATS)}", field="format")
    params = {"format": fmt}
    for name in ("start_time", "end_time"):
        value = data.get(name)
        if value:
            try:
                parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            except ValueError:
                raise InvalidParameter("must be an ISO 8601 time, e.g. 2026-11-01T00:00:00Z", field=name) from None
            if timezone.is_naive(parsed):
                parsed = timezone.make_aware(parsed, timezone.utc)
            params[name] = parsed.isoformat()
    if "start_time" in params and "end_time" in params and params["start_time"] > params["end_time"]:
        raise InvalidParameter("must not be after end_time", field="start_time")
    action = data.get("action")
    if action:
        params["action"] = str(action)[:64]
    return params


def _rows(job) -> object:
    rows = AuditLog.objects.select_related("account").order_by("created_at")
    if job.account_id is not None:
        rows = rows.filter(account_id=job.account_id)
    params = job.params
    if params.get("start_time"):
        rows = rows.filter(created_at__gte=params["start_time"])
    if params.get("end_time"):
        rows = rows.filter(created_at__lte=params["end_time"])
    if params.get("action"):
        rows = rows.filter(action__startswith=params["action"])
    return rows


def _values(entry: AuditLog) -> list:
    return [entry.created_at.isoformat(), entry.account.name if entry.account else "", entry.actor_name,
            entry.action, entry.target_type, entry.target_id, entry.source_ip or "", entry.via, entry.request_id,
            entry.user_agent, str(entry.detail)]


def export_audit_log(run: JobRun) -> dict:
    rows = _rows(run.job)
    total = rows.count()
    run.progress(5, f"collecting {total} entries")
    fmt = run.job.params.get("format", "CSV")
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    if fmt == "XLSX":
        _write_xlsx(run, rows, total, out)
    else:
        _write_csv(run, rows, total, out)
    run.progress(95, "storing the file")
    out.seek(0)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    run.attach_file(f"audit-log-{stamp}.{fmt.lower()}", out)
    return {"rows": total, "format": fmt}


def _each_with_progress(run: JobRun, rows, total: int):
    # One query per chunk (keyset on created_at, id), not one cursor held open across chunks: on SQLite an open
    # read keeps an old snapshot, and once the heartbeat thread has written, progress() on this connection fails
    # with "database is locked".
    rows = rows.order_by("created_at", "pk")
    index, last = 0, None
    while True:
        page = rows if last is None else rows.filter(
            Q(created_at__gt=last.created_at) | Q(created_at=last.created_at, pk__gt=last.pk)
        )
        chunk = list(page[:CHUNK])
        for entry in chunk:
            index += 1
            yield entry
        if len(chunk) < CHUNK:
            return
        last = chunk[-1]
        run.progress(5 + int(85 * index / max(total, 1)), f"writing entry {index} of {total}")


def _write_csv(run: JobRun, rows, total: int, out) -> None:
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow(COLUMNS)
    for entry in _each_with_progress(run, rows, total):
        writer.writerow(_values(entry))
    text.flush()
    text.detach()


def _write_xlsx(run: JobRun, rows, total: int, out) -> None:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("audit log")
    sheet.append(COLUMNS)
    for entry in _each_with_progress(run, rows, total):
        sheet.append(_values(entry))
    workbook.save(out)

"""Upload memory benchmark: the bad-upload corpus replayed over HTTP against a real web worker.

    python bench/uploads.py [--write-docs]

Starts its own stack (scratch PostgreSQL database, gunicorn with one worker process; see
``bench/pipeline.py``), signs in as a clinician and uploads every file of the corpus
(``lesions/tests/upload_corpus.py``) to a lesion, then the accepted ones a second time
(duplicates), then a 200 MB body from an anonymous caller and from the clinician. For each
request it reports the answer and the peak resident memory the web worker added while
handling it (Linux: the worker's peak RSS is reset through /proc/PID/clear_refs before each
request and read from /proc/PID/status after). Goal: at most 300 MB for any request.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from bench.pipeline import PASSWORD, Clinician, Stack  # noqa: E402
from bench.report import command_without_notes, write_section  # noqa: E402

SECTION = "## Upload memory"
BUDGET_MB = 300


def worker_pid(master: int) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.2)
    raise RuntimeError("gunicorn started no worker")


def status_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise LookupError(field)


def measured(pid: int, send) -> tuple[object, float, float]:
    """(answer, MB added at peak, seconds) of one request."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    baseline = status_mb(pid, "VmRSS")
    started = time.perf_counter()
    answer = send()
    seconds = time.perf_counter() - started
    time.sleep(0.2)  # let the worker finish after the response went out
    return answer, status_mb(pid, "VmHWM") - baseline, seconds


def upload(clinician: Clinician, lesion_pk: int, data: bytes) -> int | str:
    try:
        return clinician.upload(lesion_pk, data, "2024-06-01")
    except urllib.error.URLError as error:
        if isinstance(error.reason, (BrokenPipeError, ConnectionResetError)):
            # The server answered (413) and closed before the client had sent the body.
            return "refused unread (connection closed mid-body)"
        raise


def raw_post(port: int, path: str, length: int, cookie: str = "") -> str:
    """Headers announcing ``length`` bytes, then 1 MB of them; the status line of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: {length}\r\n"
            + (f"Cookie: {cookie}\r\n" if cookie else "")
            + "\r\n"
        )
        connection.sendall(head.encode())
        # The server may answer and close before taking it all: that is the point.
        with contextlib.suppress(OSError):
            connection.sendall(b"x" * (1024 * 1024))
        return connection.recv(200).decode(errors="replace").split("\r\n")[0]


def benchmark(args: argparse.Namespace) -> list[dict]:
    workdir = Path(tempfile.mkdtemp(prefix="dermascan-upload-bench-"))
    corpus_dir = workdir / "corpus"
    subprocess.run(
        [sys.executable, "-m", "lesions.tests.upload_corpus", "write", str(corpus_dir)],
        cwd=REPO_ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    stack = Stack(args, workdir)
    rows = []
    try:
        stack.create_database()
        import django

        django.setup()
        from lesions.models import Clinic, Lesion, Patient, User

        clinic = Clinic.objects.create(name="Benchmark clinic")
        User.objects.create_user("bench", password=PASSWORD, clinic=clinic)
        patient = Patient.objects.create(
            clinic=clinic,
            medical_record_number="BENCH-1",
            family_name="Patient",
            given_names="Benchmark",
            date_of_birth="1970-01-01",
        )
        lesion = Lesion.objects.create(
            patient=patient,
            number=1,
            label="uploads",
            body_site="back",
            body_view="back",
            map_x=0.5,
            map_y=0.3,
        )
        stack.start_web()
        pid = worker_pid(stack.processes["web"].pid)
        clinician = Clinician(stack.base_url, "bench")
        cookie = "; ".join(f"{c.name}={c.value}" for c in clinician.jar)
        upload_path = f"/lesions/{lesion.pk}/images/"
        accepted: list[Path] = []
        for repeat, files in (("first", sorted(corpus_dir.iterdir())), ("again", accepted)):
            for path in list(files):
                data = path.read_bytes()
                status, added, seconds = measured(
                    pid, lambda data=data: upload(clinician, lesion.pk, data)
                )
                if repeat == "first" and status == 302:
                    accepted.append(path)  # sent once more: refused as a duplicate
                answer = {302: "accepted", 400: "refused (400)", 413: "refused (413)"}
                answer = {**answer, status: status} if isinstance(status, str) else answer
                rows.append(
                    {
                        "request": f"{path.stem}{' (duplicate)' if repeat == 'again' else ''}",
                        "bytes": len(data),
                        "answer": answer.get(status, str(status)),
                        "added_mb": added,
                        "seconds": seconds,
                    }
                )
                print(rows[-1])
        for who, sent_cookie in (("anonymous", ""), ("clinician", cookie)):
            status, added, seconds = measured(
                pid, lambda c=sent_cookie: raw_post(stack.port, upload_path, 200 * 1024**2, c)
            )
            rows.append(
                {
                    "request": f"200 MB body, {who}",
                    "bytes": 200 * 1024**2,
                    "answer": status.removeprefix("HTTP/1.1 "),
                    "added_mb": added,
                    "seconds": seconds,
                }
            )
            print(rows[-1])
    finally:
        stack.stop_all()
        stack.drop_database()
    return rows


def docs_section(rows: list[dict], command: str, notes: str) -> str:
    worst = max(row["added_mb"] for row in rows)
    lines = [
        SECTION,
        "",
        f"`{command}`",
        "",
        "Every file of the bad-upload corpus (`lesions/tests/upload_corpus.py`) uploaded over "
        "HTTP by a signed-in clinician to a gunicorn web worker (production code path: "
        "middleware, multipart parsing, validation, decoding, storage, database); accepted "
        "files once more (refused as duplicates by their hash), then 200 MB bodies. "
        "*Added* is the worker's peak resident memory during the request minus its resident "
        "memory before it.",
        "",
        "| request | size | answer | added peak RSS | time |",
        "| --- | ---: | --- | ---: | ---: |",
    ]
    for row in rows:
        size = (
            f"{row['bytes'] / 1024**2:.1f} MB"
            if row["bytes"] >= 1024**2
            else (f"{row['bytes'] / 1024:.0f} kB")
        )
        lines.append(
            f"| {row['request']} | {size} | {row['answer']} | {row['added_mb']:.0f} MB "
            f"| {row['seconds']:.2f} s |"
        )
    verdict = "met" if worst <= BUDGET_MB else "NOT met"
    lines += ["", f"Largest addition: **{worst:.0f} MB** (goal ≤ {BUDGET_MB} MB: {verdict})."]
    if notes:
        lines += ["", notes]
    return "\n".join(lines) + "\n"


def main() -> None:
    import os

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres",
        help="PostgreSQL server to create the scratch database on",
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--write-docs", action="store_true", help="update docs/benchmarks.md")
    parser.add_argument("--notes", default="", help="free text appended to the docs section")
    args = parser.parse_args()
    args.web_workers = 1
    args.model = REPO_ROOT / "classifier" / "default_model"
    rows = benchmark(args)
    command = " ".join(["python", *command_without_notes(sys.argv)])
    section = docs_section(rows, command, args.notes)
    print(section)
    if args.write_docs:
        write_section(SECTION, section)
    if max(row["added_mb"] for row in rows) > BUDGET_MB:
        sys.exit(1)


if __name__ == "__main__":
    main()

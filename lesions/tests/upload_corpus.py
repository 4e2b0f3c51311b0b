"""The bad-upload corpus: files that once cost a web worker hundreds of megabytes, or would.

Written to a folder by ``write_corpus`` (in its own process: making the 40 megapixel JPEG
needs its pixels in memory). ``measure_upload`` runs one file through what an upload runs
(read, hash, validate, decode, clean, thumbnail) and reports the peak memory it added.
Used by the memory test and by ``bench/uploads.py``.

    python -m lesions.tests.upload_corpus write FOLDER
    python -m lesions.tests.upload_corpus measure FILE     # prints one JSON line
"""

from __future__ import annotations

import json
import struct
import sys
import zlib
from pathlib import Path

MB = 1024 * 1024


def _chunk(kind: bytes, payload: bytes) -> bytes:
    body = kind + payload
    return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))


def blank_png(
    width: int, height: int, *, color_type: int, bit_depth: int = 8, keep: float = 1.0
) -> bytes:
    """A valid all-zero PNG of any size, streamed (never held as pixels). ``keep`` < 1 cuts
    the compressed pixel data short, as a truncated upload would."""
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color_type]
    row = b"\0" * (1 + (width * channels * bit_depth + 7) // 8)
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    idat = idat[: int(len(idat) * keep)]
    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    palette = _chunk(b"PLTE", b"\0\0\0\xff\xff\xff") if color_type == 3 else b""
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + palette
        + _chunk(b"IDAT", idat)
        + _chunk(b"IEND", b"")
    )


def _jpeg(width: int, height: int, mode: str = "RGB", **params: object) -> bytes:
    import io

    import numpy as np
    from PIL import Image

    # Noise in a small tile keeps the file realistic in size without a huge random array.
    tile = np.random.default_rng(0).integers(0, 255, (256, 256, len(mode)), dtype=np.uint8)
    image = Image.new(mode, (width, height))
    patch = Image.fromarray(tile[..., 0] if mode == "L" else tile, mode=mode)
    for x in range(0, width, 1024):
        image.paste(patch, (x, 0))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, **params)
    return out.getvalue()


def corpus() -> dict[str, callable]:
    """Name -> a function making the file's bytes."""
    return {
        # The case: 166 kB that once cost +906 MB.
        "png-rgba-6300x6300": lambda: blank_png(6300, 6300, color_type=6),
        "png-rgb-7300x5400": lambda: blank_png(7300, 5400, color_type=2),
        "png-grey16-6300x6300": lambda: blank_png(6300, 6300, color_type=0, bit_depth=16),
        "png-palette-7300x5400": lambda: blank_png(7300, 5400, color_type=3),
        "png-rgba-truncated": lambda: blank_png(6300, 6300, color_type=6, keep=0.5),
        "png-bomb-30000x30000": lambda: blank_png(30000, 30000, color_type=6, keep=0.0001),
        "png-1bit-7000x6000": lambda: blank_png(7000, 6000, color_type=0, bit_depth=1),
        "jpeg-rgb-7300x5400": lambda: _jpeg(7300, 5400),
        "jpeg-progressive-7300x5400": lambda: _jpeg(7300, 5400, progressive=True),
        "jpeg-cmyk-6000x5000": lambda: _jpeg(6000, 5000, "CMYK"),
        "jpeg-truncated": lambda: _jpeg(7300, 5400)[:-200_000],
        "oversized-21mb": lambda: _jpeg(64, 64) + b"\0" * (21 * MB),
    }


def write_corpus(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, make in corpus().items():
        path = folder / f"{name}.bin"
        path.write_bytes(make())
        paths.append(path)
    return paths


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def measure_upload(path: Path) -> dict[str, object]:
    """Peak resident memory an upload of ``path`` adds (Linux: VmHWM reset via clear_refs)."""
    import django

    django.setup()
    from django.core.exceptions import ValidationError
    from django.core.files.uploadedfile import TemporaryUploadedFile

    from lesions import uploads

    upload = TemporaryUploadedFile(path.name, "application/octet-stream", 0, None)
    with path.open("rb") as source:
        while block := source.read(MB):
            upload.write(block)
    upload.size = upload.tell()
    import time

    Path("/proc/self/clear_refs").write_text("5")  # peak RSS := current RSS
    baseline_kb = _status_kb("VmRSS")
    started = time.perf_counter()
    try:
        data = uploads.read_upload(upload)
        uploads.sha256_of(data)
        clean = uploads.clean_image(data)
        outcome = f"accepted {clean.width}x{clean.height}"
    except ValidationError as error:
        outcome = f"refused: {error.code}"
    seconds = time.perf_counter() - started
    added_mb = (_status_kb("VmHWM") - baseline_kb) / 1024
    return {"file": path.name, "outcome": outcome, "added_mb": round(added_mb, 1), "s": seconds}


if __name__ == "__main__":
    command, target = sys.argv[1], Path(sys.argv[2])
    if command == "write":
        for written in write_corpus(target):
            print(written)
    else:
        print(json.dumps(measure_upload(target)))

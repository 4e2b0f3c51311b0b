"""What is stored carries pixels and nothing else: every JPEG marker and PNG chunk of the
stored file and its thumbnail is read, and only those a decoder needs are allowed."""

from __future__ import annotations

import io
import struct

import pytest
from PIL import Image, ImageCms
from PIL.PngImagePlugin import PngInfo

from lesions import uploads
from lesions.tests.images import encode, textured_image
from lesions.uploads import validation

SECRET = b"Jane Doe, 1970-01-01, MRN-4711"
# JFIF APP0 (written by libjpeg), quantisation and Huffman tables, frame headers (baseline,
# extended, progressive), restart interval, scans and restart markers: nothing else.
ALLOWED_JPEG_MARKERS = {0xE0, 0xDB, 0xC4, 0xC0, 0xC1, 0xC2, 0xDD, 0xDA, *range(0xD0, 0xD8)}
ALLOWED_PNG_CHUNKS = {b"IHDR", b"PLTE", b"IDAT", b"IEND"}


def jpeg_markers(data: bytes) -> list[tuple[int, bytes]]:
    """Every marker of a JPEG stream with its segment payload, scan data skipped."""
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    markers, position = [], 2
    while True:
        assert data[position] == 0xFF, f"no marker at {position}"
        marker = data[position + 1]
        position += 2
        if marker == 0xD9:  # end of image
            assert position == len(data), "bytes after the end of the image"
            return markers
        if 0xD0 <= marker <= 0xD7:  # restart markers have no length
            markers.append((marker, b""))
            continue
        (length,) = struct.unpack(">H", data[position : position + 2])
        markers.append((marker, data[position + 2 : position + length]))
        position += length
        if marker == 0xDA:  # entropy-coded data runs to the next real marker
            while not (data[position] == 0xFF and data[position + 1] not in (0x00, 0xFF)) or (
                0xD0 <= data[position + 1] <= 0xD7
            ):
                position += 1


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    chunks, position = [], 8
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        chunks.append((kind, data[position + 8 : position + 8 + length]))
        position += 12 + length
    assert chunks[-1][0] == b"IEND"
    return chunks


def assert_only_decoding_data(data: bytes) -> None:
    assert SECRET not in data
    if data.startswith(b"\xff\xd8"):
        markers = jpeg_markers(data)
        unexpected = {hex(marker) for marker, _ in markers} - {hex(m) for m in ALLOWED_JPEG_MARKERS}
        assert not unexpected, f"JPEG markers not needed to decode: {unexpected}"
        for marker, payload in markers:
            if marker == 0xE0:
                assert payload.startswith(b"JFIF\0"), "an APP0 segment that is not JFIF"
    else:
        kinds = {kind for kind, _ in png_chunks(data)}
        assert kinds <= ALLOWED_PNG_CHUNKS, f"PNG chunks not needed: {kinds - ALLOWED_PNG_CHUNKS}"


def assert_clean(clean: uploads.CleanImage) -> None:
    assert_only_decoding_data(clean.content)
    assert_only_decoding_data(clean.thumbnail)
    stored = Image.open(io.BytesIO(clean.content))
    assert stored.mode == "RGB"
    assert "icc_profile" not in stored.info and "comment" not in stored.info


def gray_icc_profile(gamma: float = 1.0) -> bytes:
    """A minimal ICC v2 greyscale display profile (white point and one tone curve)."""

    def s15(value: float) -> bytes:
        return struct.pack(">i", round(value * 65536))

    d50 = s15(0.9642) + s15(1.0) + s15(0.8249)
    tags = [
        (b"wtpt", b"XYZ " + bytes(4) + d50),
        (b"kTRC", b"curv" + bytes(4) + struct.pack(">IH", 1, round(gamma * 256)) + bytes(2)),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, body = struct.pack(">I", len(tags)), b""
    for signature, payload in tags:
        table += signature + struct.pack(">II", offset + len(body), len(payload))
        body += payload + bytes(-len(payload) % 4)
    header = (
        struct.pack(">I", offset + len(body))
        + bytes(4)
        + struct.pack(">I", 0x02100000)
        + b"mntrGRAYXYZ "
        + bytes(12)
        + b"acsp"
        + bytes(28)
        + d50
    )
    return header + bytes(128 - len(header)) + table + body


def xmp_app1(data: bytes) -> bytes:
    """The JPEG with an XMP packet (APP1) inserted after its start-of-image marker."""
    payload = b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>" + SECRET + b"</x:xmpmeta>"
    return data[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + data[2:]


@pytest.mark.parametrize("mode", ["RGB", "L", "CMYK"])
def test_jpeg_comment_and_xmp_are_gone_from_file_and_thumbnail(mode):
    image = textured_image((80, 60)).convert(mode)
    data = xmp_app1(encode(image, "JPEG", quality=90, comment=SECRET))
    assert data.count(SECRET) == 2  # the upload carries both
    assert_clean(uploads.clean_image(data))


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_png_text_chunks_and_arbitrary_icc_bytes_are_gone(mode):
    info = PngInfo()
    info.add_text("Comment", SECRET.decode())
    info.add_text("Author", SECRET.decode(), zip=True)
    info.add_itxt("Description", SECRET.decode())
    data = encode(
        textured_image((80, 60)).convert(mode), "PNG", pnginfo=info, icc_profile=b"x" * 64 + SECRET
    )
    kinds = {kind for kind, _ in png_chunks(data)}
    assert {b"tEXt", b"zTXt", b"iTXt", b"iCCP"} <= kinds
    assert_clean(uploads.clean_image(data))


def test_jpeg_icc_profile_is_dropped_after_it_is_applied():
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode(textured_image((80, 60)), "JPEG", quality=90, icc_profile=srgb)
    assert b"ICC_PROFILE" in data
    clean = uploads.clean_image(data)
    assert_clean(clean)
    assert b"ICC_PROFILE" not in clean.content


@pytest.mark.parametrize("image_format", ["PNG", "JPEG"])
def test_greyscale_profile_is_applied_not_kept(image_format):
    # Grey 128 on a linear (gamma 1.0) scale is about 188 in sRGB.
    grey = Image.new("L", (40, 40), 128)
    data = encode(grey, image_format, icc_profile=gray_icc_profile(1.0))
    clean = uploads.clean_image(data)
    assert_clean(clean)
    red, green, blue = Image.open(io.BytesIO(clean.content)).getpixel((20, 20))
    assert red == green == blue
    assert 183 <= red <= 193


def test_profile_of_the_wrong_colour_space_is_ignored_and_dropped():
    rgb = textured_image((40, 40))
    data = encode(rgb, "PNG", icc_profile=gray_icc_profile(1.0))
    clean = uploads.clean_image(data)
    assert_clean(clean)
    assert Image.open(io.BytesIO(clean.content)).tobytes() == rgb.tobytes()


def test_transparent_png_with_text_and_profile_is_flattened_and_clean():
    rgba = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    info = PngInfo()
    info.add_text("Comment", SECRET.decode())
    clean = uploads.clean_image(encode(rgba, "PNG", pnginfo=info, icc_profile=SECRET))
    assert_clean(clean)
    assert Image.open(io.BytesIO(clean.content)).getpixel((5, 5)) == (255, 255, 255)


def test_large_jpeg_is_reduced_while_decoding_to_the_kept_limit():
    # 6000 x 3000 = 18 MP: above the kept limit, so it is decoded at half size.
    image = Image.new("RGB", (6000, 3000), (200, 120, 90))
    clean = uploads.clean_image(encode(image, "JPEG", quality=80, comment=SECRET))
    assert (clean.width, clean.height) == (3000, 1500)
    assert_clean(clean)


def test_large_png_is_reduced_after_decoding():
    image = Image.new("P", (5000, 4000), 0)  # 20 MP, a few kB
    clean = uploads.clean_image(encode(image, "PNG"))
    assert (clean.width, clean.height) == (2500, 2000)
    assert_clean(clean)


def test_one_decode_at_a_time_per_process(monkeypatch):
    """Threads of one web worker (gthread) decode in turn, so the memory budget holds per
    process, not per thread."""
    import threading
    import time

    running, most = 0, 0
    lock = threading.Lock()
    original = uploads.to_rgb

    def slow_to_rgb(image):
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return original(image)

    monkeypatch.setattr(validation, "to_rgb", slow_to_rgb)
    data = encode(textured_image((64, 64)), "JPEG")
    threads = [threading.Thread(target=uploads.clean_image, args=(data,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == 1

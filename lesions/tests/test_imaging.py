"""lesions.uploads: uploads are judged by their content, and what is kept is clean RGB."""

import io
import struct
import zlib

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from lesions import uploads
from lesions.tests.images import encode, jpeg_bytes, png_bytes, sample_bytes, textured_image


def refusal(data: bytes) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        uploads.clean_image(data)
    return caught.value


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    body = kind + payload
    return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))


def png_header_only(width: int, height: int) -> bytes:
    """A valid PNG header claiming huge dimensions, with almost no pixel data behind it."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + png_chunk(b"IEND", b"")
    )


def reopen(clean: uploads.CleanImage) -> Image.Image:
    image = Image.open(io.BytesIO(clean.content))
    image.load()
    return image


def test_real_dermoscopic_jpeg_is_accepted_as_rgb_jpeg():
    clean = uploads.clean_image(sample_bytes("mel"))
    assert (clean.format, clean.width, clean.height) == ("JPEG", 256, 256)
    assert clean.content_type == "image/jpeg"
    assert reopen(clean).mode == "RGB"
    assert Image.open(io.BytesIO(clean.thumbnail)).size == (256, 256)


def test_png_stays_png_and_lossless():
    original = textured_image((40, 40), seed=3)
    clean = uploads.clean_image(png_bytes(original))
    assert clean.format == "PNG"
    assert np.array_equal(np.asarray(reopen(clean)), np.asarray(original))


def test_hash_is_of_the_uploaded_bytes():
    import hashlib

    data = jpeg_bytes(seed=5)
    assert uploads.clean_image(data).upload_sha256 == hashlib.sha256(data).hexdigest()


def test_zero_byte_file_is_refused():
    assert refusal(b"").code == "empty_file"
    with pytest.raises(ValidationError, match="empty"):
        uploads.read_upload(SimpleUploadedFile("empty.jpg", b""))


def test_file_over_20_mb_is_refused_without_decoding():
    data = jpeg_bytes() + b"\0" * (uploads.MAX_UPLOAD_BYTES)
    error = refusal(data)
    assert error.code == "file_too_large"
    assert "20 MB" in error.messages[0]
    with pytest.raises(ValidationError, match="limit is 20 MB"):
        uploads.read_upload(SimpleUploadedFile("big.jpg", data))


@pytest.mark.parametrize(
    "content",
    [
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b"<!doctype html><html><body>not an image</body></html>",
        b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
        b"RIFF\x00\x00\x00\x00WEBPVP8 ",
        b"BM" + b"\0" * 60,
        b"%PDF-1.7\n",
    ],
    ids=["svg", "html", "gif", "webp", "bmp", "pdf"],
)
def test_other_content_is_refused_whatever_the_name(content):
    error = refusal(content)
    assert error.code == "unsupported_format"
    assert "Only JPEG and PNG" in error.messages[0]


def test_more_than_40_megapixels_is_refused_before_decoding():
    # The file has no pixel data: decoding would fail as "corrupt", so a "too many pixels"
    # answer shows the header alone decided.
    error = refusal(png_header_only(8000, 5001))
    assert error.code == "too_many_pixels"
    assert "40.0 megapixels" in error.messages[0]


def test_decompression_bomb_beyond_pillows_own_limit_is_refused():
    assert refusal(png_header_only(30000, 30000)).code == "too_many_pixels"


def test_real_40_plus_megapixel_png_is_refused():
    bomb = Image.new("1", (7000, 6000))  # 42 MP, a few kB as PNG
    data = encode(bomb, "PNG")
    assert len(data) < 100_000
    assert refusal(data).code == "too_many_pixels"


def test_tiny_image_is_refused():
    assert refusal(jpeg_bytes((8, 8))).code == "too_small"


@pytest.mark.parametrize("keep", [0.25, 0.5, 0.9])
def test_truncated_jpeg_is_refused(keep):
    data = sample_bytes("nv")
    assert refusal(data[: int(len(data) * keep)]).code == "corrupt_image"


def test_truncated_png_is_refused():
    data = png_bytes(textured_image((64, 64)))
    assert refusal(data[: len(data) // 2]).code == "corrupt_image"


def test_png_with_a_damaged_chunk_is_refused():
    data = bytearray(png_bytes(textured_image((64, 64))))
    idat = data.index(b"IDAT")
    data[idat + 20] ^= 0xFF
    assert refusal(bytes(data)).code == "corrupt_image"


def test_jpeg_header_followed_by_garbage_is_refused():
    rng = np.random.default_rng(1)
    data = sample_bytes("bcc")[:600] + rng.integers(0, 256, 6000, dtype=np.uint8).tobytes()
    assert refusal(data).code == "corrupt_image"


def test_exif_orientation_is_applied():
    # 60x40 landscape with a red left half, tagged "rotate 90° clockwise to display".
    image = Image.new("RGB", (60, 40), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, 30, 40))
    exif = Image.Exif()
    exif[0x0112] = 6
    clean = uploads.clean_image(encode(image, "JPEG", quality=95, exif=exif))
    stored = reopen(clean)
    assert (clean.width, clean.height) == stored.size == (40, 60)
    # After a clockwise turn the left half is on top.
    top, bottom = stored.getpixel((20, 5)), stored.getpixel((20, 55))
    assert top[0] > 200 and top[2] < 60
    assert bottom[2] > 200 and bottom[0] < 60


def test_exif_and_gps_metadata_are_removed():
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0132] = "2024:01:02 03:04:05"  # DateTime
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (48.0, 12.0, 30.0)
    gps[3] = "E"
    gps[4] = (16.0, 22.0, 10.0)
    data = jpeg_bytes(exif=exif)
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)  # the upload has GPS
    clean = uploads.clean_image(data)
    stored = Image.open(io.BytesIO(clean.content))
    assert len(stored.getexif()) == 0
    assert "exif" not in stored.info
    assert b"PhoneMaker" not in clean.content
    assert b"Exif" not in clean.content


def test_png_text_metadata_is_removed():
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", "patient Jane Doe")
    clean = uploads.clean_image(png_bytes(pnginfo=info))
    assert b"Jane Doe" not in clean.content


def test_grayscale_becomes_rgb():
    gray = Image.new("L", (40, 40), 90)
    stored = reopen(uploads.clean_image(encode(gray, "PNG")))
    assert stored.mode == "RGB"
    assert stored.getpixel((0, 0)) == (90, 90, 90)


def test_16_bit_png_is_scaled_not_clipped():
    levels = np.zeros((40, 40), dtype=np.uint16)
    levels[:, 20:] = 32768
    levels[:20, :] = 65535
    sixteen = Image.fromarray(levels)
    assert sixteen.mode == "I;16"
    data = encode(sixteen, "PNG")
    assert Image.open(io.BytesIO(data)).mode.startswith("I")
    stored = reopen(uploads.clean_image(data))
    assert stored.mode == "RGB"
    assert stored.getpixel((0, 0)) == (255, 255, 255)
    assert stored.getpixel((5, 30)) == (0, 0, 0)
    assert stored.getpixel((30, 30)) == (128, 128, 128)


def test_cmyk_jpeg_becomes_rgb():
    cmyk = Image.new("CMYK", (40, 40), (0, 255, 255, 0))  # pure red in CMYK
    stored = reopen(uploads.clean_image(encode(cmyk, "JPEG", quality=95)))
    assert stored.mode == "RGB"
    red, green, blue = stored.getpixel((20, 20))
    assert red > 200 and green < 60 and blue < 60


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_transparent_png_is_flattened_onto_white(mode):
    image = Image.new(mode, (40, 40), (0, 0) if mode == "LA" else (0, 0, 0, 0))
    image.paste((0, 255) if mode == "LA" else (0, 0, 0, 255), (0, 0, 20, 40))
    stored = reopen(uploads.clean_image(encode(image, "PNG")))
    assert stored.mode == "RGB"
    assert stored.getpixel((5, 5)) == (0, 0, 0)
    assert stored.getpixel((35, 5)) == (255, 255, 255)


def test_palette_png_with_transparency_becomes_rgb():
    image = Image.new("P", (40, 40), 0)
    image.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    image.paste(1, (20, 0, 40, 40))
    stored = reopen(uploads.clean_image(encode(image, "PNG", transparency=0)))
    assert stored.mode == "RGB"
    assert stored.getpixel((5, 5)) == (255, 255, 255)
    assert stored.getpixel((30, 5)) == (0, 0, 255)

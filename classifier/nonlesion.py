"""A corpus of images that are not skin lesions, built here (no download), for the gate.

The not-assessable gate must reject what a clinic could upload by mistake: blank or
noisy frames, gradients, screenshots of text, ordinary photographs. This corpus is the
measured stand-in: uniform colours, noise, gradients, text screenshots rendered with
Pillow, and the natural photographs bundled with scikit-image. Deterministic (seeded),
so the rate recorded in the model card can be reproduced by the tests.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

SIZE = 256
PHOTOS = (
    "astronaut",
    "coffee",
    "chelsea",
    "camera",
    "rocket",
    "cat",
    "coins",
    "clock",
    "moon",
    "page",
    "text",
    "brick",
    "grass",
    "gravel",
    "hubble_deep_field",
    "colorwheel",
)
COLOURS = (
    (0, 0, 0),
    (255, 255, 255),
    (200, 30, 30),
    (30, 160, 60),
    (40, 60, 200),
    (128, 128, 128),
    (230, 180, 150),  # skin-like beige
    (120, 70, 50),  # brown
)
SCREEN_LINES = (
    "Patients  ·  Search by name or record number",
    "Doe, Jane      1984-03-12   3 lesions   last visit 12 Oct",
    "Smith, John    1957-11-02   1 lesion    last visit 02 Sep",
    "Analysis: Melanocytic nevus 82 %  ·  Risk: Low",
    "Upload image  |  Body map  |  History  |  Model",
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit.",
)


def uniform_images() -> list[tuple[str, np.ndarray]]:
    return [
        (f"uniform-{r}-{g}-{b}", np.full((SIZE, SIZE, 3), (r, g, b), np.uint8))
        for r, g, b in COLOURS
    ]


def noise_images(seed: int = 0) -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    out = [
        ("noise-uniform", rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)),
        ("noise-grey", np.repeat(rng.integers(0, 256, (SIZE, SIZE, 1), dtype=np.uint8), 3, 2)),
        (
            "noise-gaussian",
            np.clip(rng.normal(128, 40, (SIZE, SIZE, 3)), 0, 255).astype(np.uint8),
        ),
        (
            "noise-salt-pepper",
            (rng.random((SIZE, SIZE, 1)) > 0.5).repeat(3, 2).astype(np.uint8) * 255,
        ),
    ]
    # Blocky colour noise (a low-resolution pattern scaled up).
    small = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    out.append(("noise-blocks", np.asarray(Image.fromarray(small).resize((SIZE, SIZE)))))
    return out


def gradient_images() -> list[tuple[str, np.ndarray]]:
    ramp = np.linspace(0, 255, SIZE, dtype=np.float32)
    horizontal = np.tile(ramp, (SIZE, 1))
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    radial = np.clip(np.hypot(xx - SIZE / 2, yy - SIZE / 2) / (SIZE / 2) * 255, 0, 255)
    grey = [horizontal, horizontal.T, radial, (horizontal + horizontal.T) / 2]
    out = [
        (f"gradient-grey-{i}", np.stack([g] * 3, axis=2).astype(np.uint8))
        for i, g in enumerate(grey)
    ]
    out.append(
        (
            "gradient-colour",
            np.stack([horizontal, horizontal.T, 255 - horizontal], 2).astype(np.uint8),
        )
    )
    out.append(
        (
            "gradient-skin",
            np.stack(
                [200 + horizontal * 0.2, 150 + horizontal.T * 0.2, 130 + 0 * radial], 2
            ).astype(np.uint8),
        )
    )
    return out


def text_screenshots() -> list[tuple[str, np.ndarray]]:
    """Screens of text as a phone or a browser would capture them (light and dark themes)."""
    out = []
    for index, (background, ink, size) in enumerate(
        [
            ("white", "black", 14),
            ("#f4f6f8", "#1a2b3c", 18),
            ("#202124", "#e8eaed", 14),
            ("white", "#0645ad", 24),
        ]
    ):
        image = Image.new("RGB", (SIZE * 2, SIZE * 2), background)
        draw = ImageDraw.Draw(image)
        font = _font(size)
        y = 10
        while y < image.height - size:
            for line in SCREEN_LINES:
                draw.text((12, y), line, fill=ink, font=font)
                y += int(size * 1.6)
        out.append((f"text-screenshot-{index}", np.asarray(image)))
    return out


def photographs() -> list[tuple[str, np.ndarray]]:
    from skimage import data

    out = []
    for name in PHOTOS:
        image = np.asarray(getattr(data, name)())
        if image.dtype == bool:
            image = image.astype(np.uint8) * 255
        if image.ndim == 2:
            image = np.stack([image] * 3, axis=2)
        out.append((f"photo-{name}", np.ascontiguousarray(image[..., :3]).astype(np.uint8)))
    return out


def nonlesion_corpus() -> list[tuple[str, np.ndarray]]:
    """(name, RGB uint8 image) pairs: every kind above."""
    return (
        uniform_images() + noise_images() + gradient_images() + text_screenshots() + photographs()
    )


def text_screenshot_png() -> bytes:
    """One text screenshot as PNG bytes (what a clinician might upload by mistake)."""
    import io

    out = io.BytesIO()
    Image.fromarray(text_screenshots()[0][1]).save(out, "PNG")
    return out.getvalue()


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without scalable default font
        return ImageFont.load_default()

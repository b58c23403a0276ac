#!/usr/bin/python3
"""Render letters from font files as MNIST-style 28x28 grey images (used by `npm run data`, see data/README.md).

Reads one JSON job per line on stdin and writes, per job, 784 bytes (white glyph on black) to stdout.
A job: {"font": path, "char": "A", "rotate": degrees, "shear": x-shear, "thicken": 0|1}.
Every random choice is made by the caller (scripts/data/letters.ts, seeded); this script is deterministic
for a given Pillow and FreeType.

Preprocessing follows MNIST's (LeCun et al.): the glyph is scaled to fit a 20x20 box, keeping its aspect
ratio, with area averaging, then placed in a 28x28 image so that its centre of mass is at the centre.

`--probe` mode: one font path per line on stdin; writes one JSON line per font saying whether it has a
distinct glyph for every letter A-Z, a-z (symbol fonts and fonts without Latin letters are refused).
"""
import json
import math
import sys

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

CANVAS = 160
SIZE = 96
BOX = 20
OUT = 28


def glyph(font, char, rotate=0.0, shear=0.0, thicken=0):
    """The glyph of `char` as a CANVASxCANVAS L image, rotated and sheared about the centre."""
    img = Image.new("L", (CANVAS, CANVAS), 0)
    ImageDraw.Draw(img).text((CANVAS / 2, CANVAS / 2), char, fill=255, font=font, anchor="mm")
    if rotate != 0.0 or shear != 0.0:
        # Inverse map output -> input: translate to centre, inverse(rotation @ shear), translate back.
        t = math.radians(rotate)
        c, s = math.cos(t), math.sin(t)
        fwd = np.array([[c, -s], [s, c]]) @ np.array([[1.0, shear], [0.0, 1.0]])
        inv = np.linalg.inv(fwd)
        cx = cy = CANVAS / 2
        a, b, d, e = inv[0, 0], inv[0, 1], inv[1, 0], inv[1, 1]
        img = img.transform(
            (CANVAS, CANVAS),
            Image.Transform.AFFINE,
            (a, b, cx - a * cx - b * cy, d, e, cy - d * cx - e * cy),
            resample=Image.Resampling.BILINEAR,
        )
    if thicken:
        img = img.filter(ImageFilter.MaxFilter(3 + 2 * (thicken - 1)))
    return img


def to_mnist(img):
    """Fit the glyph's bounding box into 20x20 (aspect kept, area averaging) and centre its mass in 28x28."""
    bbox = img.getbbox()
    if bbox is None:
        return None
    crop = img.crop(bbox)
    w, h = crop.size
    scale = BOX / max(w, h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    small = np.asarray(crop.resize((nw, nh), Image.Resampling.BOX), dtype=np.float64)
    total = small.sum()
    if total <= 0:
        return None
    ys, xs = np.indices(small.shape)
    cy, cx = (ys * small).sum() / total, (xs * small).sum() / total
    top = int(round(OUT / 2 - 0.5 - cy))
    left = int(round(OUT / 2 - 0.5 - cx))
    top = min(max(top, 0), OUT - nh)
    left = min(max(left, 0), OUT - nw)
    out = np.zeros((OUT, OUT), dtype=np.float64)
    out[top : top + nh, left : left + nw] = small
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def probe(paths):
    """For each font: ok if all 52 letters render, differ from the missing-glyph box and from each other."""
    letters = [chr(c) for c in range(65, 91)] + [chr(c) for c in range(97, 123)]
    for path in paths:
        try:
            font = ImageFont.truetype(path, SIZE)
            missing = glyph(font, "\ue000").tobytes()
            seen = set()
            reason = None
            for ch in letters:
                g = glyph(font, ch)
                b = g.tobytes()
                if g.getbbox() is None:
                    reason = f"empty glyph for {ch}"
                elif b == missing:
                    reason = f"no glyph for {ch}"
                elif b in seen:
                    reason = f"glyph for {ch} repeats another letter"
                if reason:
                    break
                seen.add(b)
            ok = reason is None
            family, style = font.getname()
        except OSError as err:
            ok, reason, family, style = False, str(err), "", ""
        sys.stdout.write(json.dumps({"font": path, "ok": ok, "reason": reason, "family": family, "style": style}) + "\n")


def render(lines):
    """Render every job; a glyph that comes out empty is an error naming the font and the letter."""
    fonts = {}
    out = sys.stdout.buffer
    for line in lines:
        job = json.loads(line)
        path = job["font"]
        if path not in fonts:
            fonts[path] = ImageFont.truetype(path, SIZE)
        img = glyph(fonts[path], job["char"], job.get("rotate", 0.0), job.get("shear", 0.0), job.get("thicken", 0))
        arr = to_mnist(img)
        if arr is None:
            sys.stderr.write(f"render_letters: {path}: letter {job['char']!r} rendered empty\n")
            sys.exit(2)
        out.write(arr.tobytes())
    out.flush()


if __name__ == "__main__":
    lines = [l for l in sys.stdin.read().splitlines() if l.strip()]
    if "--probe" in sys.argv[1:]:
        probe(lines)
    else:
        render(lines)

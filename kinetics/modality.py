"""The two streams of two-stream I3D, which the datasets call modalities.

Both the loader (what to read) and the model (how many input channels) need this one word, and
neither should import the other for it, so it sits at the bottom of the package.
"""

from __future__ import annotations

from typing import Literal, get_args

Modality = Literal["rgb", "flow"]
MODALITIES: tuple[str, ...] = get_args(Modality)

"""The model a run starts from: ImageNet inflation, an I3D checkpoint, or random weights (paper section 2.3, Table 3).

* ``imagenet2d``: a 2D Inception-v1 in torchvision's GoogLeNet naming, read with
  ``weights_only=True`` and inflated by ``I3D.from_2d`` ("ImageNet then Kinetics" in Table 3);
* ``checkpoint``: a registered name or a file, by ``I3D.from_pretrained``; a classifier of another
  size is replaced by a fresh one (transfer);
* ``scratch``: Sonnet's initialisation ("Kinetics only" in Table 3).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from kinetics.errors import CheckpointError
from kinetics.models.architecture import IN_CHANNELS
from kinetics.models.checkpoints import read_state_dict
from kinetics.models.i3d import I3D
from kinetics.training.config import Init, Stream


def build_model(
    *,
    stream: Stream,
    init: Init,
    num_classes: int,
    init_weights: str | os.PathLike | None = None,
    dropout: float = 0.5,
    temporal_padding: str = "zeros",
    cache_dir: str | os.PathLike | None = None,
    base_url: str | None = None,
    class_names: Sequence[str] | None = None,
) -> I3D:
    """An I3D for ``stream`` with ``num_classes`` outputs, initialised as ``init`` says (in train mode).

    ``class_names`` (the corpus's, when known) become ``model.classes``; a checkpoint's classifier is
    kept only when it names the same classes in the same order, since an equal count alone would
    silently map one class onto another.
    """
    in_channels = IN_CHANNELS[stream]
    if init == "scratch":
        model = I3D(num_classes, in_channels=in_channels, dropout=dropout, temporal_padding=temporal_padding)
    elif init == "imagenet2d":
        if init_weights is None:
            raise CheckpointError("init=imagenet2d needs the path of a GoogLeNet state dict (--init-weights)")
        state_dict = read_state_dict(init_weights)
        model = I3D.from_2d(state_dict, in_channels=in_channels, num_classes=num_classes, dropout=dropout,
                            temporal_padding=temporal_padding)
    elif init == "checkpoint":
        if init_weights is None:
            raise CheckpointError("init=checkpoint needs a registered checkpoint name or a path (--init-weights)")
        model = load_stream_model(init_weights, stream=stream, dropout=dropout, temporal_padding=temporal_padding,
                                  cache_dir=cache_dir, base_url=base_url)
        renamed = class_names is not None and model.classes is not None and tuple(model.classes) != tuple(class_names)
        if model.num_classes != num_classes or renamed:
            model.replace_logits(num_classes)
    else:
        raise ValueError(f"init must be imagenet2d, checkpoint or scratch, got {init!r}")
    if class_names is not None and len(class_names) == num_classes:
        model.classes = tuple(class_names)
    return model.train()


def load_stream_model(
    name_or_path: str | os.PathLike,
    *,
    stream: Stream | None = None,
    dropout: float = 0.5,
    temporal_padding: str = "zeros",
    cache_dir: str | os.PathLike | None = None,
    base_url: str | None = None,
) -> I3D:
    """``I3D.from_pretrained`` (eval mode), checked to be a ``stream`` model when one is named."""
    model = I3D.from_pretrained(name_or_path, cache_dir=cache_dir, base_url=base_url, dropout=dropout,
                                temporal_padding=temporal_padding)
    if stream is not None and model.in_channels != IN_CHANNELS[stream]:
        found = {v: k for k, v in IN_CHANNELS.items()}.get(model.in_channels, f"{model.in_channels}-channel")
        raise CheckpointError(f"{name_or_path}: a {found} checkpoint ({model.in_channels} input channels), "
                              f"but the {stream} stream needs {IN_CHANNELS[stream]}")
    return model


def stream_of(in_channels: int, *, source: str | os.PathLike) -> Stream:
    """``rgb`` or ``flow``, from the input channels of a model or checkpoint (``source`` names it in the error)."""
    for stream, channels in IN_CHANNELS.items():
        if in_channels == channels:
            return stream  # type: ignore[return-value]
    raise CheckpointError(f"{source}: {in_channels} input channels is neither RGB (3) nor flow (2)")


def load_streams(
    checkpoint: str | os.PathLike | None,
    flow_checkpoint: str | os.PathLike | None = None,
    *,
    cache_dir: str | os.PathLike | None = None,
    base_url: str | None = None,
) -> dict[str, I3D]:
    """``{"rgb": model, "flow": model}`` from ``checkpoint`` (either stream, told by its input channels)
    and an optional ``flow_checkpoint`` (the flow half of a two-stream pair)."""
    if checkpoint is None:
        raise CheckpointError("a checkpoint is needed (a registered name or a path)")
    first = load_stream_model(checkpoint, cache_dir=cache_dir, base_url=base_url)
    models = {stream_of(first.in_channels, source=checkpoint): first}
    if flow_checkpoint is not None:
        if "flow" in models:
            raise CheckpointError(f"{checkpoint}: is a flow checkpoint; with --flow-checkpoint, --checkpoint must be RGB")
        flow = load_stream_model(flow_checkpoint, stream="flow", cache_dir=cache_dir, base_url=base_url)
        if flow.num_classes != first.num_classes:
            raise CheckpointError(f"{flow_checkpoint}: {flow.num_classes} classes, but {checkpoint} has {first.num_classes}")
        models["flow"] = flow
    return models

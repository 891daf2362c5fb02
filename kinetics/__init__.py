"""kinetics: the Kinetics action-recognition corpus, from YouTube ids to a training set, and I3D.

The public API is re-exported here lazily, so ``import kinetics`` is instant and does not pull in
torch, yt-dlp or PyAV until the piece that needs them is used.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: public name -> module that defines it
_EXPORTS = {
    # manifests
    "Manifest": "kinetics.manifests.readers",
    "ManifestRow": "kinetics.manifests.schema",
    "pull_manifest": "kinetics.manifests.sources",
    "import_manifest": "kinetics.manifests.sources",
    "load_manifest": "kinetics.manifests.sources",
    # corpus
    "CorpusIndex": "kinetics.corpus.index",
    "ClipRecord": "kinetics.corpus.index",
    "FlowRecord": "kinetics.corpus.index",
    "CorpusLayout": "kinetics.corpus.layout",
    "Reason": "kinetics.corpus.reasons",
    "audit": "kinetics.corpus.audit",
    "AuditOptions": "kinetics.corpus.audit",
    "AuditReport": "kinetics.corpus.audit",
    "corpus_status": "kinetics.corpus.status",
    "write_fingerprint": "kinetics.corpus.fingerprint",
    "compare_fingerprint": "kinetics.corpus.fingerprint",
    "diagnose": "kinetics.doctor",
    # download
    "download_clips": "kinetics.download.run",
    "DownloadOptions": "kinetics.download.run",
    "DownloadSummary": "kinetics.download.run",
    "select_clips": "kinetics.download.select",
    "Selection": "kinetics.download.select",
    # data
    "KineticsDataset": "kinetics.data.dataset",
    "UCF101Dataset": "kinetics.data.video_folders",
    "HMDB51Dataset": "kinetics.data.video_folders",
    "prepare_dataset": "kinetics.data.prepare",
    # flow
    "compute_flow": "kinetics.flow.methods",
    "extract_flow": "kinetics.flow.run",
    "FlowOptions": "kinetics.flow.run",
    # models
    "I3D": "kinetics.models.i3d",
    "TwoStreamI3D": "kinetics.models.i3d",
    "InceptionV1": "kinetics.models.inception2d",
    # training
    "train": "kinetics.training.train",
    "TrainConfig": "kinetics.training.config",
    "evaluate": "kinetics.training.evaluate",
    "EvalOptions": "kinetics.training.options",
    "transfer": "kinetics.training.transfer",
    "TransferOptions": "kinetics.training.options",
    "extract_features": "kinetics.training.features",
    "FeatureOptions": "kinetics.training.options",
    "predict": "kinetics.training.predict",
    "predict_videos": "kinetics.training.predict",
    "PredictOptions": "kinetics.training.predict_options",
    # execution
    "make_executor": "kinetics.executors",
}

def lazy_exports(package: str, exports: dict[str, str]):
    """``(__getattr__, __dir__, __all__)`` for a package whose public names are imported on first use.

    Each subpackage re-exports the names of ``_EXPORTS`` that live in it (and a few more of its
    own), so ``from kinetics.data import KineticsDataset`` works like ``from kinetics import ...``
    without ``import kinetics.data`` pulling in torch.
    """
    public = sorted(exports)

    def __getattr__(name: str):
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(importlib.import_module(package), name, value)
        return value

    def __dir__() -> list[str]:
        return public

    return __getattr__, __dir__, public


def subpackage_exports(package: str, **extra: str) -> dict[str, str]:
    """The names of ``_EXPORTS`` defined under ``package``, plus ``extra`` (name -> module).

    A function named like the module that defines it (``kinetics.training.train.train``) is left
    out: in the subpackage that name is the module, once anything has imported it.
    """
    found = {name: module for name, module in _EXPORTS.items() if module.startswith(package + ".")}
    return {name: module for name, module in found.items() if module.rsplit(".", 1)[1] != name} | extra


__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
__all__ = __all__ + ["__version__"]

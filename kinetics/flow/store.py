"""The ``.kflow`` format under its historical name: it lives in :mod:`kinetics.corpus.flowfile`.

Flow files belong to the corpus on disk (the loader in ``kinetics.data`` reads them, and
``kinetics.data`` sits below ``kinetics.flow``), so the format is defined there; this module keeps
``from kinetics.flow.store import FlowFile`` working for existing code.
"""

from kinetics.corpus.flowfile import (  # noqa: F401
    CODECS,
    DEFAULT_BOUND,
    SUFFIX,
    Codec,
    FlowFile,
    FlowFileError,
    dequantise,
    quantise,
    write_flow_file,
)

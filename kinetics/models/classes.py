"""The class names a checkpoint's logits stand for, and how a corpus's classes line up with them.

The package ships the Kinetics-400, 600, 700 and 700-2020 class lists (``manifests/class_lists``,
installed as ``kinetics.registry``), one name a line in the order the public checkpoints use
(sorted, DeepMind's ``label_map.txt``). The registry names each checkpoint's list, so a pretrained
model can say what its outputs mean (``I3D.classes``).

:func:`match_classes` is the check ``evaluate``, ``transfer`` and ``features`` make before they
compare a model's outputs with a corpus's labels: the same names at the same indices pass; a corpus
whose names are all among the checkpoint's (one made with ``--classes``, or a custom manifest of
Kinetics names) is mapped by name; anything else is refused, naming both lists and the first
differences, because the numbers would otherwise be meaningless (0% with no word).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files

from kinetics.errors import KineticsError

#: Shipped class lists by name (the registry's ``class_list`` values) and the corpus version each belongs to.
CLASS_LISTS: dict[str, str] = {
    "kinetics400": "400",
    "kinetics600": "600",
    "kinetics700": "700",
    "kinetics700_2020": "700-2020",
}
CLASS_LIST_DIR = "class_lists"
_SHOWN = 5  # differences named in an error


class ClassListError(KineticsError):
    """A checkpoint's classes and a corpus's do not correspond (the message names both lists and the differences)."""


def class_list_names() -> list[str]:
    return list(CLASS_LISTS)


def has_class_list(name: str) -> bool:
    return name in CLASS_LISTS


@functools.cache
def class_names(name: str) -> tuple[str, ...]:
    """The shipped class list ``name`` (``kinetics400`` ...), in logit order."""
    if name not in CLASS_LISTS:
        raise KeyError(f"no shipped class list {name!r}; known: {', '.join(CLASS_LISTS)}")
    resource = files("kinetics.registry") / CLASS_LIST_DIR / f"{name}.txt"
    try:
        text = resource.read_text(encoding="utf-8")
    except OSError as err:
        raise KineticsError(f"{resource}: cannot read the {name} class list: {err}") from err
    names = tuple(line for line in text.splitlines() if line)
    if len(set(names)) != len(names):
        raise KineticsError(f"{resource}: a class is listed twice")
    return names


def class_list_for_version(version: str) -> str | None:
    """The shipped list of a corpus version ("400", "700-2020", ...), or None (a custom manifest)."""
    return next((name for name, v in CLASS_LISTS.items() if v == version), None)


@dataclass(frozen=True)
class ClassMapping:
    """How corpus labels become checkpoint logit indices.

    ``to_checkpoint[i]`` is the logit index of corpus label ``i`` (-1: no clip can have it).
    ``identity``: the indices already agree (the same list, or a subset at the same positions).
    ``covered``: the checkpoint indices the corpus has names for (a subset when fewer than all).
    """

    to_checkpoint: tuple[int, ...]
    identity: bool
    covered: tuple[int, ...]
    checkpoint_classes: int
    note: str

    @property
    def subset(self) -> bool:
        return len(self.covered) < self.checkpoint_classes


def match_classes(
    checkpoint: Sequence[str] | None,
    corpus: Sequence[str] | None,
    *,
    num_classes: int,
    checkpoint_name: str,
    corpus_name: str,
) -> ClassMapping:
    """Line the corpus's classes (names by label_index, "" where none) up with the checkpoint's.

    ``checkpoint`` is None when the file does not say (a local state dict): then only the count is
    checked. Raises :class:`ClassListError` naming both lists and the first differences.
    """
    corpus_names = {i: name for i, name in enumerate(corpus or ()) if name}
    if checkpoint is None or not corpus_names:
        count = len(corpus or ())
        if corpus is not None and count > num_classes:
            raise ClassListError(
                f"{checkpoint_name} has {num_classes} classes but {corpus_name} has {count}: the checkpoint cannot "
                f"predict its labels (is this corpus's class list the checkpoint's?)")
        if checkpoint is None and corpus is not None and count < num_classes and len(corpus_names) == count:
            raise ClassListError(
                f"{checkpoint_name} has {num_classes} classes (names unknown: the file does not list them) but "
                f"{corpus_name} has {count} ({_preview(corpus)}): they cannot be the same list; use a checkpoint "
                f"trained on this corpus, or a registered one whose class names are known")
        identity = tuple(range(num_classes))
        side = "the checkpoint does not list them" if checkpoint is None else "the corpus has none"
        return ClassMapping(identity, True, identity, num_classes, f"class names not checked ({side}); only the count was")
    checkpoint = list(checkpoint)
    if len(checkpoint) != num_classes:
        raise ClassListError(f"{checkpoint_name}: {len(checkpoint)} class names for {num_classes} outputs")
    same_place = all(i < len(checkpoint) and checkpoint[i] == name for i, name in corpus_names.items())
    if same_place:
        covered = tuple(sorted(corpus_names))
        note = "" if len(covered) == num_classes else f"{len(covered)} of the checkpoint's {num_classes} classes"
        return ClassMapping(tuple(range(len(corpus or ()))), True, covered, num_classes, note)
    position = {name: i for i, name in enumerate(checkpoint)}
    unknown = [name for name in corpus_names.values() if name not in position]
    if unknown:
        raise ClassListError(_mismatch(checkpoint, list(corpus or ()), unknown, checkpoint_name, corpus_name))
    to_checkpoint = tuple(position[corpus[i]] if corpus[i] else -1 for i in range(len(corpus)))
    covered = tuple(sorted(i for i in to_checkpoint if i >= 0))
    note = (f"{len(covered)} of the checkpoint's {num_classes} classes, mapped by name"
            if len(covered) < num_classes else "classes mapped by name (the corpus orders them differently)")
    return ClassMapping(to_checkpoint, False, covered, num_classes, note)


def _mismatch(checkpoint: list[str], corpus: list[str], unknown: list[str], checkpoint_name: str, corpus_name: str) -> str:
    corpus_count = sum(1 for name in corpus if name)
    differences = [f"{i}: {c!r} vs {k!r}" for i, (c, k) in enumerate(zip(corpus, checkpoint)) if c and c != k][:_SHOWN]
    return (
        f"the classes of {corpus_name} ({corpus_count}: {_preview(corpus)}) are not the classes of {checkpoint_name} "
        f"({len(checkpoint)}: {_preview(checkpoint)}); {len(unknown)} corpus class(es) the checkpoint does not have: "
        f"{', '.join(map(repr, unknown[:_SHOWN]))}{' ...' if len(unknown) > _SHOWN else ''}; first differences "
        f"(index: corpus vs checkpoint): {'; '.join(differences) or 'none at shared indices'}. Evaluate with a "
        f"checkpoint trained on these classes, or build the corpus from the checkpoint's list (kinetics download --classes)"
    )


def _preview(names: Sequence[str]) -> str:
    shown = [repr(name) for name in names if name][:3]
    more = sum(1 for name in names if name) - len(shown)
    return ", ".join(shown) + (f", ... {more} more" if more > 0 else "")

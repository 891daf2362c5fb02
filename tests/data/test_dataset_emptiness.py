"""An empty dataset is an error that says why (issue 13, item 10): unknown split or flow method, nothing ok."""

from __future__ import annotations

import pytest

from kinetics.data.dataset import KineticsDataset
from kinetics.errors import CorpusError


def test_a_split_alias_opens_the_split(mini_corpus):
    assert len(KineticsDataset(mini_corpus.root, "valid")) == len(KineticsDataset(mini_corpus.root, "val")) == 2


def test_an_unknown_split_lists_the_known_ones(mini_corpus):
    with pytest.raises(CorpusError, match=r"unknown split 'vall'.*test, train, val"):
        KineticsDataset(mini_corpus.root, "vall")


def test_an_unknown_flow_method_lists_the_methods_with_flow(mini_corpus):
    with pytest.raises(CorpusError, match=r"no ok flow for method 'TVL1'.*flow exists for: tvl1"):
        KineticsDataset(mini_corpus.root, "train", modalities=("rgb", "flow"), flow_method="TVL1")
    with pytest.raises(CorpusError, match=r"no ok flow for method 'dis'.*flow exists for: tvl1"):
        KineticsDataset(mini_corpus.root, "train", modalities=("flow",), flow_method="dis")


def test_a_split_with_no_flow_says_so(mini_corpus):
    with pytest.raises(CorpusError, match=r"split 'val'.*no ok flow for method 'tvl1'.*flow exists for: tvl1 \(train\)"):
        KineticsDataset(mini_corpus.root, "val", modalities=("flow",))


def test_rgb_only_ignores_the_flow_method(mini_corpus):
    assert len(KineticsDataset(mini_corpus.root, "train", flow_method="TVL1")) == 6


@pytest.mark.parametrize("verb", ["status", "audit", "flow"])
def test_a_mistyped_split_is_an_error_listing_the_known_ones(mini_corpus, capsys, verb):
    from kinetics.cli.main import main

    before = sorted(p.relative_to(mini_corpus.root) for p in mini_corpus.root.rglob("*"))
    assert main([verb, "--root", str(mini_corpus.root), "--split", "vall"]) == 1
    err = capsys.readouterr().err
    assert "unknown split 'vall'" in err and "test, train, val" in err, err
    assert sorted(p.relative_to(mini_corpus.root) for p in mini_corpus.root.rglob("*")) == before


def test_flow_on_a_root_that_does_not_exist_fails_and_creates_nothing(tmp_path, capsys):
    from kinetics.cli.main import main

    root = tmp_path / "nonexistent"
    assert main(["flow", "--root", str(root)]) == 1
    assert f"{root}" in capsys.readouterr().err and not root.exists()

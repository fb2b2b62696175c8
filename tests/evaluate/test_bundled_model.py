"""The bundled base models: present, loadable without running code, and described by their provenance files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import helixtune

MODELS = Path(helixtune.__file__).parent / "data" / "models"


def test_provenance_matches_the_shipped_file():
    model = MODELS / "base_small.safetensors"
    provenance = json.loads((MODELS / "base_small.json").read_text())
    assert model.stat().st_size < 5_000_000
    assert hashlib.md5(model.read_bytes()).hexdigest() == provenance["md5"]
    assert set(provenance["species"]) == {"Athaliana", "Celegans", "Dmelanogaster", "Mpusilla"}
    assert provenance["command"].startswith("helixtune train ")
    best = provenance["best_check"]
    assert best["validation_genic_f1"] == max(c["genic_f1"] for c in provenance["training_checks"])


def test_model_loads_and_predicts_a_chunk():
    import torch

    from helixtune.model.model_file import load_model

    model, metadata = load_model(MODELS / "base_small.safetensors")
    assert sum(p.numel() for p in model.parameters()) == 513_800
    model.eval()
    with torch.no_grad():
        out = model(torch.zeros(1, 900, 4))
    genic = out[0] if isinstance(out, (tuple, list)) else out
    assert genic.shape[-1] == 4 and torch.isfinite(genic).all()


def test_fungal_base_model_is_the_default_and_documents_itself():
    from helixtune.data import bundled_model_path

    model = MODELS / "fungi_base.safetensors"
    provenance = json.loads((MODELS / "fungi_base.json").read_text())
    assert bundled_model_path() == model
    assert model.stat().st_size <= 10_000_000
    assert hashlib.md5(model.read_bytes()).hexdigest() == provenance["md5"]
    assert set(provenance["species"]) == {"Scerevisiae", "Sparadoxus", "Tdeformans", "Pjirovecii"}
    assert all(len(entry["annotation_md5"]) == 32 for entry in provenance["species"].values())
    assert provenance["command"].startswith("helixtune train ") and provenance["cpu_hours"] > 0
    assert set(provenance["validation_metrics_per_genome"]) == set(provenance["species"])
    pombe = provenance["schizosaccharomyces_pombe"]
    assert pombe["md5"] == provenance["md5"]  # the S. pombe figures are of this very file
    assert 0 < pombe["held_out_pieces"]["network_phase_f1"] <= 1 and pombe["chromosome_I"]["genes"] > 0

    # tuned from the model it replaced, which stays loadable by name and is named by md5 in the provenance
    stage = provenance["annealing_stage"]
    assert stage["command"].startswith("helixtune train ") and "--balance-training-files" in stage["command"]
    previous = MODELS / "fungi_base_v1.safetensors"
    assert bundled_model_path("fungi_base_v1") == previous
    assert hashlib.md5(previous.read_bytes()).hexdigest() == stage["started_from"]["md5"]
    assert json.loads((MODELS / "fungi_base_v1.json").read_text())["md5"] == stage["started_from"]["md5"]

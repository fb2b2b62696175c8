"""The species' own genome-decoder statistics, fitted on a run's training labels and stored in the tuned model.

A model fine-tuned on a species' labels decodes best with that species' intron and exon lengths, splice-site
and start matrices and coding statistics (the fine-tuning study: gene F1 0.661 with the bundled lineage
statistics adapted to the genome, 0.704 with statistics fitted on the tuning labels). The labels are in the
training files already, so `train` fits them there: the labels of every training and validation file are
decoded into gene models (as the gene-level check makes its reference: labels as predictions, the genome
decoder), and `decode-params fit`'s fit is run on those genes and the files' own sequence
(`params.adapt_params`). The weights and UTR settings stay those of the parameters the run started from.

The result goes into the saved model's metadata (`decode_params`); `annotate` decodes with it whenever no
`--params` is given (docs/fine-tuning.md).
"""

from __future__ import annotations

from pathlib import Path

from helixtune.decode.options import MODEL_PARAMS_KEY, model_decode_params
from helixtune.decode.params import DecodeParams

MAX_LABELLED_BP = 200_000_000  # more than a fungal or plant tuning set; bounds the decode of huge ones


def starting_params(pretrained_path) -> DecodeParams:
    """What a run's statistics start from: the pretrained model's own parameters, else the bundled ones."""
    if pretrained_path:
        from helixtune.model.loading import open_model

        params = model_decode_params(open_model(pretrained_path).metadata)
        if params is not None:
            return params
    return DecodeParams.load(None)


def fit_from_labels(labelled_paths, base: DecodeParams, work_dir, threads: int | None = None,
                    max_bp: int = MAX_LABELLED_BP) -> tuple[DecodeParams | None, str]:
    """(params, why): `base` refitted on the gene models of the labels in `labelled_paths` (None with the reason
    when they hold too few genes)."""
    from helixtune.decode.label_predictions import write_label_predictions
    from helixtune.decode.params import adapt_params
    from helixtune.decode.pipeline import decode_to_gff3
    from helixtune.decode.streams import genome_sequences
    from helixtune.train.gene_check import write_validation_subset

    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    genome = work_dir / "labels.h5"
    labels = work_dir / "labels.as_predictions.h5"
    genes = work_dir / "labels.gff3"
    try:
        write_validation_subset(labelled_paths, genome, max_bp)
        write_label_predictions(genome, labels)
        decode_to_gff3(genome, labels, genes, decoder="genome", params=base, adapt=False, threads=threads,
                       show_progress=False)
        fitted, why = adapt_params(base, genes, genome_sequences(genome, labels))
    finally:
        for path in (genome, labels):
            path.unlink(missing_ok=True)
    if fitted is None:
        return None, why.replace("the first pass", "the training labels")
    fitted.source = {**fitted.source, "adapted_to": f"{fitted.source.get('genes')} genes of the training labels"}
    return fitted, f"fitted on {fitted.source.get('genes')} genes ({fitted.source.get('introns')} introns) of the " \
                   "training labels"


def store_in_model(model_path, params: DecodeParams) -> None:
    """Rewrite the model file with `params` in its metadata (weights unchanged; atomic)."""
    from helixtune.model import model_file

    model, metadata = model_file.load_model(model_path)
    extra = {k: v for k, v in metadata.items() if k not in ("format", "format_version", "architecture")}
    extra[MODEL_PARAMS_KEY] = params.to_json()
    model_file.save_model(model_path, model, extra)

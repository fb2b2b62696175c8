"""Pipelines: commands that chain the stages (genome, predict, decode, annotation, pseudolabel, train,
evaluate) into one call. Stages never import from here.

- `annotate`: FASTA -> GFF3 (`helixtune annotate`): encode -> predict -> decode.
- `self_train`: the pseudolabel loop (`helixtune self-train`), one function per step, the steps as data.
- `self_train_report`: its report (gene counts, confidence, agreement, accuracy).
- `steps`: the resumable step runner and its `state.json` contract.
- `example`: the quickstart (`helixtune self-train --example`) on the bundled data.
"""

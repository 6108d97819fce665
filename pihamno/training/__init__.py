"""Training of the neural operators: config (TOML -> dataclasses), windows, objective, loop, checkpoints.

Modules, one job each: :mod:`.config` (the run description), :mod:`.windows` (trajectory splits and random
windows), :mod:`.processor` (normalisation around the model), :mod:`.losses` (data + physics objective),
:mod:`.optim` (AdamW + cosine schedule), :mod:`.checkpoint` (resumable, ``weights_only``-safe checkpoints),
:mod:`.logs` (metrics.csv, TensorBoard), :mod:`.distributed` (torchrun / DDP), :mod:`.trainer` (the loop).
Kept import-free so that ``pihamno.evaluation`` can use :mod:`.processor` without loading the trainer.
"""

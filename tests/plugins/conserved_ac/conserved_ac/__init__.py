"""A pihamno plugin package: the conserved Allen-Cahn equation (:mod:`.pde`) and a tiny model (:mod:`.model`).

Its ``pyproject.toml`` declares both modules as entry points of the groups ``pihamno.pdes``,
``pihamno.initial_conditions`` and ``pihamno.models``; pihamno imports them when it loads its plugins, and their
decorators register ``"cac"``, the family ``"slab"`` and the model ``"tiny_conv"``.
"""

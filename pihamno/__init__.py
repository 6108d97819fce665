"""pihamno: physics-informed hierarchical neural operators for 3D phase-field PDEs.

Data path: ``fem`` (meshes -> operators -> reference solvers) -> ``pihamno.data`` -> ``pihamno.models`` /
``pihamno.physics`` -> ``pihamno.training`` -> ``pihamno.evaluation`` -> ``pihamno.export`` / ``pihamno.rendering``.
"""

__version__ = "0.1.0"

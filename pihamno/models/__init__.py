"""Neural operators for one time step: ``(B, T_in, n, n, n)`` frames on the node grid -> next frame ``(B, 1, n, n, n)``.

``build_model(name, **config)`` builds any registered model (``available_models()``): HAMNO (:mod:`.hamno`) and
the baselines FNO, F-FNO, U-Net, U-NO, U-FNO, DeepONet. :mod:`.checkpoint` saves and rebuilds them.
"""

from .base import OperatorModel, count_parameters, node_coordinates
from .checkpoint import load_checkpoint, model_from_payload, model_payload, save_checkpoint
from .registry import MODELS, available_models, build_model

__all__ = [
    "MODELS",
    "OperatorModel",
    "available_models",
    "build_model",
    "count_parameters",
    "load_checkpoint",
    "model_from_payload",
    "model_payload",
    "node_coordinates",
    "save_checkpoint",
]

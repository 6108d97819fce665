"""Neural operators for one time step: ``(B, T_in, n, n, n)`` frames on the node grid -> next frame ``(B, 1, n, n, n)``.

``build_model(name, **options)`` builds any registered model (``available_models()``): HAMNO (:mod:`.hamno`) and
the baselines FNO, F-FNO, U-Net, U-NO, U-FNO, DeepONet; the classes themselves take the same keyword-only
options (``help(HAMNO)`` lists them). ``validate_model_options(name, options)`` checks options without building.
A model class registers itself with ``@register_model("name")`` (:mod:`.registry`; a plugin's too, docs/plugins.md).
:mod:`.checkpoint` saves and rebuilds the models.
"""

from .base import OperatorModel, count_parameters, node_coordinates
from .checkpoint import load_checkpoint, model_from_payload, model_payload, save_checkpoint
from .deeponet import DeepONet
from .ffno import FFNO
from .fno import FNO
from .hamno import HAMNO
from .registry import available_models, build_model, model_class, register_model, unregister_model, validate_model_options
from .ufno import UFNO
from .unet import UNet
from .uno import UNO

__all__ = [
    "FFNO",
    "FNO",
    "HAMNO",
    "UFNO",
    "UNO",
    "DeepONet",
    "OperatorModel",
    "UNet",
    "available_models",
    "build_model",
    "count_parameters",
    "load_checkpoint",
    "model_class",
    "model_from_payload",
    "model_payload",
    "node_coordinates",
    "register_model",
    "save_checkpoint",
    "unregister_model",
    "validate_model_options",
]

"""Neural Low-Degree Filtering (Neural LoFi) for scikit-learn.

Deep feature learning as an explicit spectral procedure: random non-linear
lifts, a label-weighted moment operator per layer, its top directions kept,
and a ridge readout (arXiv:2605.13612).
"""

from ._convolutional import ConvLoFiTransformer
from ._baselines import RandomFeatureBaselineClassifier, RandomFeatureBaselineRegressor
from ._kernel import DeepNNGPClassifier, DeepNNGPRegressor, KernelLoFiClassifier, KernelLoFiRegressor
from ._lofi import LoFiTransformer, NeuralLoFiClassifier, NeuralLoFiRegressor

__version__ = "0.1.0"

__all__ = [
    "ConvLoFiTransformer",
    "DeepNNGPClassifier",
    "DeepNNGPRegressor",
    "KernelLoFiClassifier",
    "KernelLoFiRegressor",
    "LoFiTransformer",
    "NeuralLoFiClassifier",
    "NeuralLoFiRegressor",
    "RandomFeatureBaselineClassifier",
    "RandomFeatureBaselineRegressor",
    "__version__",
]

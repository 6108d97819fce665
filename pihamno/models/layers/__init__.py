"""Layers shared by the models: transforms, spectral convolutions, convolution blocks, a U-Net core."""

"""Networks: the transform nets that paint frames and the VGG-16 that judges them in training."""

from vidstyle.models.transform import ARCHS, TransformNet, build_net

__all__ = ["ARCHS", "TransformNet", "build_net"]

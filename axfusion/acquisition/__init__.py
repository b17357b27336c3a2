r"""Stage 3: the fusion acquisition (model channel, KF/rKF fusion, EHVI, batch selection)."""

from axfusion.acquisition.acqf import FusionAcquisition
from axfusion.acquisition.channels import ChannelConfig, exploration_ratio, model_channel, optimism
from axfusion.acquisition.fusion import FusionCalibration, FusionConfig, FusionScorer, TargetCalibration
from axfusion.acquisition.hypervolume import HypervolumeConfig, data_reference_point, ehvi_scores
from axfusion.acquisition.kalman import (
    KalmanConfig,
    deviation_ratio,
    fusion_channel,
    kalman_weights,
    measurement_noise,
    rkf_strength,
)
from axfusion.acquisition.structural import StructuralWeight
from axfusion.acquisition.targets import Target, orient, parse_targets

__all__ = [
    "ChannelConfig",
    "FusionAcquisition",
    "FusionCalibration",
    "FusionConfig",
    "FusionScorer",
    "HypervolumeConfig",
    "KalmanConfig",
    "StructuralWeight",
    "Target",
    "TargetCalibration",
    "data_reference_point",
    "deviation_ratio",
    "ehvi_scores",
    "exploration_ratio",
    "fusion_channel",
    "kalman_weights",
    "measurement_noise",
    "model_channel",
    "optimism",
    "orient",
    "parse_targets",
    "rkf_strength",
]

"""Optional decoder-side modules of the reconstruction network (Zhang et al. 2025, "Decoder-side
enhanced image compression network under distributed strategy"), as configuration options of
RecCNN (``NetConfig.hf_width``, ``NetConfig.feature_enh``).

* :class:`HighFrequencyBranch`, the decoder-side enhancement module: a small branch sees the
  high-frequency component of the reconstruction (the reconstruction minus its 3x3 box blur) and
  predicts the missing high-frequency component, which is added to the reconstruction.
* :class:`FeatureEnhancement`, the feature enhancement module: attention on RecCNN's hidden
  features, a per-pixel channel gate (1x1 convolutions) and a spatial gate (7x7 convolution over
  the channel mean and maximum), in the manner of CBAM but without global pooling, so that tiled
  inference still equals untiled inference.

Both start as the identity (the last layer of the branch and the gates' logits are zero), so a
model with them starts exactly where the model without them does, and the modules' effect is what
training adds. The paper's exact layer sizes are not reproduced; these are sized for a CPU decoder.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["HighFrequencyBranch", "FeatureEnhancement"]


class HighFrequencyBranch(nn.Module):
    """``y + f(y - blur(y))``: predicts the high-frequency component (3 -> width -> width -> 3)."""

    #: receptive-field radius in pixels (blur 1 + three 3x3 convolutions)
    radius = 4

    def __init__(self, width: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1)
        self.conv3 = nn.Conv2d(width, 3, 3, padding=1)
        nn.init.zeros_(self.conv3.weight)
        nn.init.zeros_(self.conv3.bias)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        high = y - F.avg_pool2d(F.pad(y, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
        h = F.relu(self.conv2(F.relu(self.conv1(high))))
        return y + self.conv3(h)


class FeatureEnhancement(nn.Module):
    """Channel and spatial gating of hidden features, ``h * 2 sigmoid(.)`` each (1 at init)."""

    #: receptive-field radius in feature pixels (the 7x7 spatial gate)
    radius = 3

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        mid = max(channels // reduction, 4)
        self.squeeze = nn.Conv2d(channels, mid, 1)
        self.excite = nn.Conv2d(mid, channels, 1)
        self.spatial = nn.Conv2d(2, 1, 7, padding=3)
        for conv in (self.excite, self.spatial):
            nn.init.zeros_(conv.weight)
            nn.init.zeros_(conv.bias)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        h = h * 2 * torch.sigmoid(self.excite(F.relu(self.squeeze(h))))
        stats = torch.cat([h.mean(1, keepdim=True), h.amax(1, keepdim=True)], 1)
        return h * 2 * torch.sigmoid(self.spatial(stats))

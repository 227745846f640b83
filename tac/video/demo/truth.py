"""The synthetic drive's ground truth: a class per pixel and the ego-motion between frames.

The real scorers were trained on labelled driving; the stand-ins are trained on this. The five
classes mirror what a driving SegNet separates (the drivable road, its paint, other road users,
the sky, everything else); the ego-motion is the camera's own, read off the pose the renderer
draws from, so it is exact rather than estimated.
"""

from __future__ import annotations

import numpy as np

from tac.video.demo.world import FOCAL, build_scene, camera_pose

ROAD, LANE_MARKING, VEHICLE, SKY, OTHER = range(5)
CLASSES = ("road", "lane marking", "vehicle", "sky", "other")

# The six numbers, in the camera's frame, from frame t to frame t+1.
EGO_MOTION = ("forward m", "right m", "up m", "roll rad", "pitch rad", "yaw rad")


def ego_motion(t: int, seed: int = 0) -> np.ndarray:
    """float64 (6,): how the camera moved from frame t to t+1 — translation, then rotation.

    The road is flat and the camera rigidly mounted, so `up` and `roll` are always zero (a
    trained PoseNet must learn that too); pitch is the horizon's bob, yaw the heading change.
    """
    scene = build_scene(int(seed))
    a, b = camera_pose(scene, int(t)), camera_pose(scene, int(t) + 1)
    ds, de = b.s - a.s, b.e - a.e
    # rotate the road-frame displacement into the camera's heading at frame t
    forward = ds + de * a.heading
    right = de - ds * a.heading
    pitch = (b.horizon - a.horizon) / FOCAL  # the horizon drops in the image as the nose rises
    return np.array([forward, right, 0.0, 0.0, pitch, b.yaw - a.yaw])

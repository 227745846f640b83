"""The synthetic world's ground truth: labels beside the unchanged picture, exact ego-motion."""

import numpy as np

from tac.video.demo import CLASSES, EGO_MOTION, ego_motion, render_frame, render_labeled
from tac.video.demo.truth import LANE_MARKING, ROAD, SKY, VEHICLE
from tac.video.demo.world import build_scene, camera_pose


def test_labels_come_beside_the_same_picture():
    rgb, labels = render_labeled(33, 3)
    assert np.array_equal(rgb, render_frame(33, 3))
    assert labels.shape == rgb.shape[:2] and labels.dtype == np.uint8
    assert set(np.unique(labels)) <= set(range(len(CLASSES)))
    frac = np.bincount(labels.ravel(), minlength=len(CLASSES)) / labels.size
    assert frac[ROAD] > 0.2 and frac[SKY] > 0.2 and 0 < frac[LANE_MARKING] < 0.05
    assert frac[VEHICLE] > 0  # this drive has a car ahead at t=33
    assert (labels[0] == SKY).mean() > 0.8  # the top row is sky, bar a tall pole or tree
    assert labels[labels.shape[0] * 3 // 4, labels.shape[1] // 2] == ROAD  # just ahead: road


def test_ego_motion_follows_the_camera():
    m = ego_motion(10, 0)
    assert m.shape == (len(EGO_MOTION),) and m[2] == 0 and m[3] == 0
    scene = build_scene(0)
    a, b = camera_pose(scene, 10), camera_pose(scene, 11)
    assert m[0] > 0 and abs(m[0] - (b.s - a.s)) < 0.05 * abs(b.s - a.s)  # driving forward
    assert m[5] == b.yaw - a.yaw
    assert not np.array_equal(ego_motion(10, 0), ego_motion(500, 0))

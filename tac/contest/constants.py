"""Every fact of the comma video compression challenge, stated once.

The source of truth is the official evaluation (`evaluate.py`, `modules.py`, `frame_utils.py`),
transcribed in `shared/contest-spec.md`. Every other module imports from here.
"""

from __future__ import annotations

# --- the video -----------------------------------------------------------------------------
CAMERA_WIDTH = 1164
CAMERA_HEIGHT = 874
CHANNELS = 3
FRAME_BYTES = CAMERA_WIDTH * CAMERA_HEIGHT * CHANNELS  # one uint8 RGB frame in a .raw file
FPS = 20
CONTEST_FRAMES = 1200
CONTEST_VIDEO_NAME = "0.mkv"
CONTEST_VIDEO_BYTES = 37_545_489  # the denominator of the rate on the public test set
VIDEO_NAMES_FILE = "public_test_video_names.txt"

# --- samples -------------------------------------------------------------------------------
SEQ_LEN = 2  # frames per sample: (0,1), (2,3), ...; a trailing odd frame is dropped
DEFAULT_BATCH_SIZE = 16  # the official evaluator's default

# --- scorer inputs -------------------------------------------------------------------------
MODEL_INPUT_HEIGHT = 384
MODEL_INPUT_WIDTH = 512
POSE_IN_CHANNELS = 6 * SEQ_LEN  # YUV6 per frame, both frames stacked on channels
POSE_MEAN = 255 / 2  # 127.5, stored as the `_mean` buffer
POSE_STD = 255 / 4  # 63.75, stored as the `_std` buffer
POSE_OUTPUTS = 12
POSE_DISTORTION_OUTPUTS = 6  # only the first half of the pose head counts
SEG_CLASSES = 5

# --- YUV420 -> RGB (the CPU runner's imitation of NVDEC) -------------------------------------
LUMA_OFFSET = 16.0
LUMA_SCALE = 255.0 / 219.0
CHROMA_OFFSET = 128.0
CHROMA_SCALE = 255.0 / 224.0
R_FROM_V = 1.402
G_FROM_U = 0.344136
G_FROM_V = 0.714136
B_FROM_U = 1.772

# --- RGB -> YUV6 (PoseNet's input) ------------------------------------------------------------
Y_FROM_R = 0.299
Y_FROM_G = 0.587
Y_FROM_B = 0.114
U_DIVISOR = 1.772
V_DIVISOR = 1.402

# --- the score -----------------------------------------------------------------------------
SEG_WEIGHT = 100.0  # score = SEG_WEIGHT*seg + sqrt(POSE_WEIGHT*pose) + RATE_WEIGHT*rate
POSE_WEIGHT = 10.0
RATE_WEIGHT = 25.0

# --- the official scorer weights (git-lfs files in the challenge repository) -----------------
POSENET_FILE = "models/posenet.safetensors"
POSENET_BYTES = 55_835_560
POSENET_SHA256 = "0f3a0874c5c387f990d7b88bd1d7e1f6de35d98b45f2a289989db2c77b9b6576"
SEGNET_FILE = "models/segnet.safetensors"
SEGNET_BYTES = 38_502_892
SEGNET_SHA256 = "68956e328d4c5d875389a1a444870e6bac1c052c9986123827af95c07c6991b6"

# --- the evaluation environment ---------------------------------------------------------------
INFLATE_TIME_LIMIT_S = 30 * 60  # the whole evaluation, on a T4 or a 4-CPU machine
RUNNER_AXES = ("cpu", "cuda")  # cpu: PyAV decode of the original; cuda: NVDEC through DALI

# --- a known reference point: the challenge's `baseline_fast` ---------------------------------
BASELINE_FAST = {
    "pose": 0.38042614,
    "seg": 0.00946623,
    "archive_bytes": 2_244_900,
    "rate": 0.05979147,
    "score": 4.39,
}

"""Training through the frozen scorers: Trainer, losses, EMA/SWA averaging, configs, profiles.

Lane-agnostic: a lane's train step (e.g. `tac.lanes.codec.filter_training`) feeds it frames.
"""

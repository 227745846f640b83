"""The neural-representation lane (HNeRV family), being built (issue 15): so far the model
(`model`) and its payload (`packing`); not yet registered as a lane."""

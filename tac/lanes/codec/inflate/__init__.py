"""Files copied verbatim into contest submissions (they must run where tac is not installed).

tac imports `inflate` from here too, so the frames tac predicts and the frames a submission
produces come from one implementation.
"""

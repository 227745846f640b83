"""The codec lane's inflate, copied verbatim into its submissions (they run where tac is not
installed): `inflate.sh` and `inflate.py`.

tac imports `inflate` from here too, so the frames tac predicts and the frames a submission
produces come from one implementation.
"""

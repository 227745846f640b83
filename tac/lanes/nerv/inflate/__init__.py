"""The nerv lane's inflate, copied verbatim into its submissions (they run where tac is not
installed): `inflate.sh` and `inflate.py`, beside the `nervrt` runtime (`tac.lanes.nerv.runtime`)."""

"""The masks lane's inflate, copied verbatim into its submissions (they run where tac is not
installed): `inflate.sh` and `inflate.py`, beside the `masksrt` runtime (`tac.lanes.masks.runtime`)."""

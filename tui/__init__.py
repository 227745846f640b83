"""tac-dash, the Textual dashboard (arrives with the controller). Never imports torch or av."""

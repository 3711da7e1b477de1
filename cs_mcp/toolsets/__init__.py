"""One module per toolset: its input and output models and any handler the generic ones do not cover."""

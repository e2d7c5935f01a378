"""One module per model family; each exposes ``build(input_size, weights) -> keras.Model``."""

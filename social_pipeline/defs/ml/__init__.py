"""Group `ml`: the training dataset, the reach and likes models, prediction feedback."""

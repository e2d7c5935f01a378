"""The study's training recipe, shared by its four architectures, in TrainConfig terms.

Adam 1e-4 at a constant rate (AdamW with no decay is Adam), no warm-up, no label smoothing, no class
weighting. The study gave no batch size; 64 is ours.
"""

STUDY_TRAINING = {
    "lr_schedule": "constant",
    "input_size": 48,
    "batch_size": 64,
    "learning_rate": 1e-4,
    "warmup_epochs": 0,
    "weight_decay": 0.0,
    "label_smoothing": 0.0,
    "class_weight_power": 0.0,
}

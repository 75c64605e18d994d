"""Self-checks for the exercises: ``check.<name>(your answer)`` prints "correct" or a hint, never the answer.

One module per notebook; every check returns True or False and never raises, so an exercise left
blank does not stop the cells after it. ``CHECKS`` maps an exercise number ("03.1") to its check.
"""
from utils.check.baseline import conv_layer, dense_parameters, seed_model_with_dropout
from utils.check.convolution import diagonal_kernel, layer_shapes, shift_tolerance
from utils.check.cpu_speed import largest_batch_gain, largest_time_share, two_convs_variant
from utils.check.dataset import duplicate_copy, loader_memory_gb, reseeded_split
from utils.check.explain import MISTAKE_GROUPS, earlier_layer_heatmap, flipped_prediction, mistake_groups, other_class_heatmap
from utils.check.improving import (augmentation_without_rotation, gap_cnn_at_128, progressive_share, train_command,
                                   warmup_schedule)
from utils.check.runs import ARCHIVE_CHOICES, accuracy_winner, archived, best_epoch_and_gap, run_filter
from utils.check.submission import bad_file_name_exit_code, constant_log_loss, three_views
from utils.check.transfer import HEAD_FIRST_CHOICES, efficientnet_weights, forward_passes, head_first

CHECKS = {check.exercise: check for check in [
    duplicate_copy, reseeded_split, loader_memory_gb,
    diagonal_kernel, layer_shapes, shift_tolerance,
    conv_layer, dense_parameters, seed_model_with_dropout,
    gap_cnn_at_128, augmentation_without_rotation, train_command, warmup_schedule, progressive_share,
    efficientnet_weights, head_first, forward_passes,
    other_class_heatmap, earlier_layer_heatmap, flipped_prediction, mistake_groups,
    run_filter, accuracy_winner, best_epoch_and_gap, archived,
    constant_log_loss, three_views, bad_file_name_exit_code,
    largest_time_share, largest_batch_gain, two_convs_variant,
]}

__all__ = ["CHECKS", "ARCHIVE_CHOICES", "HEAD_FIRST_CHOICES", "MISTAKE_GROUPS", *(c.__name__ for c in CHECKS.values())]

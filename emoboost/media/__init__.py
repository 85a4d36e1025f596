"""Stages 1-2: decoding onto the 25 fps / 16 kHz grid, and face tracking."""

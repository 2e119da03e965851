"""Reading real film clips: decoding, shots, people's 2D joints, tracks, the main pair, features."""

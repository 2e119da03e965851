"""End to end: held-out synthetic shots rendered, analysed like real clips, angles compared."""

from cinestage.film.feature_net import from_pretrained
from cinestage.pipeline.feature_eval import evaluate_rendered


def test_rendered_shots_are_read_better_than_the_training_mean():
    report = evaluate_rendered(from_pretrained(), duets=1, cameras=3, duration=8.0, width=480, log=lambda m: None)
    assert report["pair_frames"] >= 0.5 * report["frames"]
    assert report["theta"]["median_deg"] < 0.5 * report["theta_baseline"]["median_deg"]
    assert report["phi"]["median_deg"] < report["phi_baseline"]["median_deg"]

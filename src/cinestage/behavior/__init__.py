"""Camera behaviour: synthetic camera work, the gating network and the mixture of experts."""
